"""The SQLite store (sqlite-utils): schema and migrations, articles, stories, failures, alert outbox,
backfill checkpoints, the site memory (the lines each site repeats), the lock that lets one run
at a time write, and reading it back: listings narrowed by Filters, full-text search."""

from ._errors import StoreError
from ._filters import Filters
from ._lock import StoreBusy, run_lock
from ._reading import SearchError, SearchResults
from ._records import AlertChannel, PendingAlert, SavedArticle
from ._schema import SCHEMA_VERSION
from ._health import DEFAULT_DARK_AFTER, DEFAULT_MAX_ATTEMPTS
from ._store import Store

__all__ = ["DEFAULT_DARK_AFTER", "DEFAULT_MAX_ATTEMPTS", "SCHEMA_VERSION", "AlertChannel", "Filters", "PendingAlert",
           "SavedArticle", "SearchError", "SearchResults", "Store", "StoreBusy", "StoreError", "run_lock"]
