"""What went wrong with the store file, in one line that says what to do."""

from __future__ import annotations

import sqlite3
from pathlib import Path

# SQLite's primary error names, and what the user can do about each.
_WHAT_TO_DO = {
    "SQLITE_READONLY": "the file or its folder is read-only: make it writable, or pass another --db",
    "SQLITE_CANTOPEN": "it cannot be opened: is it a folder, or its folder missing or not writable? Pass a file "
                       "with --db",
    "SQLITE_BUSY": "another program holds a lock on it: close that program and try again",
    "SQLITE_LOCKED": "another program holds a lock on it: close that program and try again",
    "SQLITE_FULL": "the disk is full: free some space; the next run stores what this one could not",
    "SQLITE_CORRUPT": "the file is damaged: restore it from a backup, or move it aside to start a new store",
    "SQLITE_NOTADB": "it is not a SQLite database: pass a newswatch store with --db",
    "SQLITE_IOERR": "reading or writing it failed (is it a device, or on a failing disk?): pass a regular file "
                    "with --db",
}


class StoreError(ValueError):
    """The store cannot be used; the message names the file and what to do."""

    @classmethod
    def from_sqlite(cls, path: str | Path, exc: sqlite3.Error) -> StoreError:
        name = getattr(exc, "sqlite_errorname", "") or ""
        # Extended names ("SQLITE_IOERR_FSYNC") share their primary name's remedy.
        remedy = next((text for key, text in _WHAT_TO_DO.items() if name == key or name.startswith(key + "_")),
                      "see the SQLite error")
        return cls(f"{path}: {exc}; {remedy}")
