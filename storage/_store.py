"""The store: one SQLite file, opened (created, migrated) once, with one class per concern behind it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlite_utils

from ._articles import Articles
from ._checkpoints import Checkpoints
from ._health import Health
from ._http_cache import HttpCache
from ._outbox import Outbox
from ._schema import migrate, require_current, require_store
from ._site_lines import SiteLines
from ._transaction import immediate_transaction


class Store(Articles, SiteLines, Outbox, Health, HttpCache, Checkpoints):
    """One SQLite file. A run opens one Store and uses it from one thread at a time; writes take the
    write lock up front, so two processes on one file serialise."""

    def __init__(self, path: str | Path, *, read_only: bool = False):
        """Open (creating and migrating) the store at ``path``; with ``read_only``, open an existing
        store of the current schema for reading, changing nothing. ValueError when the file is not a
        store: not SQLite, another program's database, a newer newswatch's store, or (read only) an
        older one."""
        self.path = Path(path)
        if read_only:
            self.db = sqlite_utils.Database(sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True))
            try:
                require_current(self.db, self.path)
            except (ValueError, sqlite3.DatabaseError):
                self.db.close()
                raise
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # A flow opens the store once and its tasks use it in turn, from whichever thread Prefect runs them on.
        self.db = sqlite_utils.Database(sqlite3.connect(self.path, check_same_thread=False))
        try:
            require_store(self.db, self.path)  # before WAL mode and the tables change the file
        except ValueError:
            self.db.close()
            raise
        self.db.execute("PRAGMA busy_timeout = 30000")
        self.db.enable_wal()
        migrate(self.db)
        self._rebuild_stale_signatures()

    def close(self) -> None:
        self.db.close()

    def batch(self):
        """One transaction (one commit, one fsync) for many writes: what a backfill chunk stores.
        Each write inside keeps its own all-or-nothing savepoint."""
        return immediate_transaction(self.db.conn)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
