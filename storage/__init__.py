"""The SQLite store (sqlite-utils): schema and migrations, articles, stories, failures, alert outbox."""

from ._records import AlertChannel, PendingAlert, SavedArticle
from ._schema import SCHEMA_VERSION
from ._store import DEFAULT_MAX_ATTEMPTS, Store

__all__ = ["DEFAULT_MAX_ATTEMPTS", "SCHEMA_VERSION", "AlertChannel", "PendingAlert", "SavedArticle", "Store"]
