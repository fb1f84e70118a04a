"""Where articles come from: the sources file, feed/sitemap/page-list discovery, polite httpx fetching."""

from ._config import Source, load_sources
from ._discover import Entry, SourceError, discover
from ._fetch import FetchedPage, FetchFailure, FetchSettings, fetch_pages

__all__ = [
    "Entry",
    "FetchFailure",
    "FetchSettings",
    "FetchedPage",
    "Source",
    "SourceError",
    "discover",
    "fetch_pages",
    "load_sources",
]
