"""The store: one SQLite file, opened (created, migrated) once, with one class per concern behind it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlite_utils

from ._articles import Articles
from ._checkpoints import Checkpoints
from ._errors import StoreError
from ._health import Health
from ._http_cache import HttpCache
from ._outbox import Outbox
from ._reading import Reading
from ._schema import migrate, require_current, require_store
from ._site_lines import SiteLines
from ._transaction import immediate_transaction


class Store(Articles, Reading, SiteLines, Outbox, Health, HttpCache, Checkpoints):
    """One SQLite file. A run opens one Store and uses it from one thread at a time; writes take the
    write lock up front, so two processes on one file serialise."""

    def __init__(self, path: str | Path, *, read_only: bool = False):
        """Open (creating and migrating) the store at ``path``; with ``read_only``, open an existing
        store of the current schema for reading, changing nothing and taking no write lock.
        ValueError when the file is not a store: not SQLite, another program's database, a newer
        newswatch's store, or (read only) an older one; StoreError, a ValueError saying what to do,
        when SQLite cannot use it: damaged, locked, read-only, on a full disk, a folder or a device."""
        self.path = Path(path)
        try:
            self.db = self._connect(read_only)
        except sqlite3.Error as exc:
            raise StoreError.from_sqlite(self.path, exc) from None
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot open the store ({exc.strerror}); pass another --db") from None

    def _connect(self, read_only: bool) -> sqlite_utils.Database:
        if read_only:
            db = sqlite_utils.Database(sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True))
            try:
                require_current(db, self.path)
            except (ValueError, sqlite3.Error):
                db.close()
                raise
            return db
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # A flow opens the store once and its tasks use it in turn, from whichever thread Prefect runs them on.
        db = sqlite_utils.Database(sqlite3.connect(self.path, check_same_thread=False))
        try:
            require_store(db, self.path)  # before WAL mode and the tables change the file
            db.execute("PRAGMA busy_timeout = 30000")
            db.enable_wal()
            migrate(db)
            self.db = db
            self._rebuild_stale_signatures()
        except (ValueError, sqlite3.Error):
            db.close()
            raise
        return db

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
