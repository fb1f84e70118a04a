"""HTML → Article: trafilatura's main-text extraction plus site-chrome removal and metadata, and the
site memory that learns each site's repeated chrome as its pages are stored."""

from ._article import Article, Removal
from ._extract import MAX_HTML_BYTES, ExtractionError, extract_article
from ._site_memory import MEMORY_PAGES, SiteMemory, memory_is_full, min_pages, page_fingerprints, site_of

__all__ = ["MAX_HTML_BYTES", "MEMORY_PAGES", "Article", "ExtractionError", "Removal", "SiteMemory", "extract_article",
           "memory_is_full", "min_pages", "page_fingerprints", "site_of"]
