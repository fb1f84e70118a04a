"""Where articles come from: the sources file, feed/sitemap/page-list discovery, polite httpx fetching,
and WARC files."""

from ._config import Source, listed_hosts, load_sources, load_url_list
from ._dates import parse_day
from ._discover import Discovery, Entry, SourceError, discover, discover_many
from ._fetch import FetchedPage, FetchFailure, FetchSession, FetchSettings, NotModified, Validators, fetch_pages
from ._warc import WarcIndex, index_warc, read_archived

__all__ = [
    "Discovery",
    "Entry",
    "FetchFailure",
    "FetchSession",
    "FetchSettings",
    "FetchedPage",
    "NotModified",
    "Source",
    "SourceError",
    "Validators",
    "WarcIndex",
    "discover",
    "discover_many",
    "fetch_pages",
    "index_warc",
    "listed_hosts",
    "load_sources",
    "load_url_list",
    "parse_day",
    "read_archived",
]
