"""Backfill checkpoints: which chunks of which backfill are done, so a rerun resumes."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import sqlite_utils

from ._sql import now
from ._transaction import immediate_transaction


def _urls_hash(urls: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(urls).encode()).hexdigest()


class Checkpoints:
    db: sqlite_utils.Database

    def chunk_done(self, backfill: str, source: str, chunk: int, urls: Iterable[str]) -> bool:
        """Whether this chunk of this backfill and source was finished before, with these same URLs."""
        row = self.db.execute("select urls_hash from backfill_checkpoints where backfill = ? and source = ? "
                              "and chunk = ?", [backfill, source, chunk]).fetchone()
        return row is not None and row[0] == _urls_hash(urls)

    def finish_chunk(self, backfill: str, source: str, chunk: int, *, urls: Iterable[str], stored: int,
                     failed: int) -> None:
        """Record a chunk as done (its URLs' hash tells a later run whether it is still the same chunk)."""
        urls = list(urls)
        with immediate_transaction(self.db.conn):
            self.db["backfill_checkpoints"].insert({
                "backfill": backfill, "source": source, "chunk": chunk, "urls_hash": _urls_hash(urls),
                "pages": len(urls), "stored": stored, "failed": failed, "done_at": now(),
            }, replace=True)
