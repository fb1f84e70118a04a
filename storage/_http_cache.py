"""Validators (ETag, Last-Modified) of feeds, sitemaps and pages, for conditional GETs."""

from __future__ import annotations

import sqlite_utils

from ._sql import now
from ._transaction import immediate_transaction


class HttpCache:
    db: sqlite_utils.Database

    def validators(self, source: str) -> dict[str, tuple[str | None, str | None]]:
        """{URL: (ETag, Last-Modified)} of this source's feeds and sitemaps, as last saved."""
        return {row["url"]: (row["etag"], row["last_modified"])
                for row in self.db.query("select * from http_cache where source = ?", [source])}

    def save_validators(self, source: str, validators: dict[str, tuple[str | None, str | None]]) -> None:
        with immediate_transaction(self.db.conn):
            for url, (etag, last_modified) in validators.items():
                self.db.execute(
                    "insert or replace into http_cache (url, source, etag, last_modified, saved_at) "
                    "values (?, ?, ?, ?, ?)", [url, source, etag, last_modified, now()],
                )
