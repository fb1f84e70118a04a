"""Failures and health: pages and feeds that failed (retried by later runs), and each source's
run-by-run health (dark after repeated failures)."""

from __future__ import annotations

import sqlite_utils

from ._sql import now
from ._transaction import immediate_transaction

# A failed page is retried on later runs until it has failed this many times.
DEFAULT_MAX_ATTEMPTS = 5
# A source that fails this many runs in a row is dark.
DEFAULT_DARK_AFTER = 3


class Health:
    db: sqlite_utils.Database

    def record_failure(self, url: str, *, source: str, reason: str, kind: str = "page") -> None:
        """Record that a page (or a source's feed, ``kind="feed"``) failed, and why."""
        with immediate_transaction(self.db.conn):
            self.db.execute(
                "insert into fetch_failures (url, source, kind, reason, attempts, first_failed_at, last_failed_at) "
                "values (?, ?, ?, ?, 1, ?, ?) on conflict(url) do update set reason = excluded.reason, "
                "attempts = attempts + 1, last_failed_at = excluded.last_failed_at",
                [url, source, kind, reason, now(), now()],
            )

    def clear_failure(self, url: str) -> None:
        with immediate_transaction(self.db.conn):
            self.db.execute("delete from fetch_failures where url = ?", [url])

    def failures(self, *, source: str | None = None) -> list[dict]:
        where, params = ("where source = ?", [source]) if source else ("", [])
        return list(self.db.query(f"select * from fetch_failures {where} order by url", params))

    def urls_to_retry(self, source: str, *, max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> list[str]:
        """Pages of this source that failed before and have not yet used up their attempts."""
        return [
            row["url"]
            for row in self.db.query(
                "select url from fetch_failures where source = ? and kind = 'page' and attempts < ? order by url",
                [source, max_attempts],
            )
        ]

    def record_source_run(self, source: str, *, error: str | None, dark_after: int) -> str | None:
        """Record whether a source worked this run. Returns "dark" when it has now failed
        ``dark_after`` runs in a row and nobody was told yet, "recovered" when it works again after
        that, else None. Call ``source_notified`` once the news is out."""
        with immediate_transaction(self.db.conn):
            row = self.db.execute(
                "select consecutive_failures, dark_since, dark_notified from source_health where source = ?", [source]
            ).fetchone() or (0, None, 0)
            failures, dark_since, notified = row
            if error is None:
                self.db.execute(
                    "insert into source_health (source, last_success, consecutive_failures, dark_notified) "
                    "values (?, ?, 0, ?) on conflict(source) do update set last_success = excluded.last_success, "
                    "consecutive_failures = 0, dark_since = null, last_error = null, "
                    "dark_notified = excluded.dark_notified",
                    [source, now(), notified],
                )
                return "recovered" if notified else None
            failures += 1
            dark_since = dark_since or now()
            self.db.execute(
                "insert into source_health (source, last_failure, consecutive_failures, last_error, dark_since, "
                "dark_notified) values (?, ?, ?, ?, ?, ?) on conflict(source) do update set "
                "last_failure = excluded.last_failure, consecutive_failures = excluded.consecutive_failures, "
                "last_error = excluded.last_error, dark_since = excluded.dark_since",
                [source, now(), failures, error, dark_since, notified],
            )
            return "dark" if failures >= dark_after and not notified else None

    def source_notified(self, source: str, *, dark: bool) -> None:
        """The dark (or recovered) notice for this source went out."""
        with immediate_transaction(self.db.conn):
            self.db.execute("update source_health set dark_notified = ? where source = ?", [int(dark), source])

    def source_health(self, source: str | None = None, *, dark_after: int = DEFAULT_DARK_AFTER) -> list[dict]:
        """The health of every source, or of one. ``dark_since`` (when its failures in a row began) is
        shown only for a source that is dark: one that has failed ``dark_after`` runs in a row."""
        where, params = ("where source = ?", [source]) if source else ("", [])
        rows = list(self.db.query(f"select * from source_health {where} order by source", params))
        for row in rows:
            if row["consecutive_failures"] < dark_after:
                row["dark_since"] = None
        return rows
