"""HTML → Article: trafilatura's main-text extraction plus site-chrome removal and metadata."""

from ._article import Article, Removal
from ._extract import MAX_HTML_BYTES, ExtractionError, extract_article

__all__ = ["MAX_HTML_BYTES", "Article", "ExtractionError", "Removal", "extract_article"]
