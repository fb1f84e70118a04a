"""The alert outbox: an alert per flagged story and channel, its attempts, backoff and outcome."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import timedelta

import sqlite_utils

from ._records import AlertChannel, PendingAlert
from ._sql import now
from ._transaction import immediate_transaction

# A failed alert waits 1, 2, 4... minutes (at most 6 hours) before its next try, up to 8 tries.
ALERT_MAX_ATTEMPTS = 8
ALERT_FIRST_BACKOFF = timedelta(minutes=1)
ALERT_MAX_BACKOFF = timedelta(hours=6)


class Outbox:
    db: sqlite_utils.Database

    def _enqueue(self, story_id: int, article_id: int, channels: Iterable[AlertChannel]) -> int:
        enqueued = 0
        for channel in channels:
            enqueued += self.db.execute(
                "insert or ignore into alerts (story_id, article_id, channel, channel_label, "
                "status, attempts, created_at) values (?, ?, ?, ?, 'pending', 0, ?)",
                [story_id, article_id, channel.key, channel.label, now()],
            ).rowcount
        return enqueued

    def pending_alerts(self, channel_keys: Iterable[str]) -> list[PendingAlert]:
        """Alerts of these channels that are due: never tried, or failed and past their backoff."""
        keys = list(channel_keys)
        if not keys:
            return []
        marks = ",".join("?" * len(keys))
        rows = self.db.query(
            "select alerts.id as alert_id, alerts.channel, alerts.story_id, alerts.attempts, "
            "articles.title, articles.url, coalesce(articles.site_name, articles.source) as outlet, "
            "articles.published, articles.state, articles.score, articles.evidence, articles.matched, "
            "(select json_group_array(distinct coalesce(other.site_name, other.source)) from articles other "
            " where other.story_id = alerts.story_id and other.id != articles.id "
            " and coalesce(other.site_name, other.source) != coalesce(articles.site_name, articles.source)"
            ") as also_reported_by "
            "from alerts join articles on articles.id = alerts.article_id "
            f"where alerts.status in ('pending', 'failed') and alerts.channel in ({marks}) "
            "and (alerts.next_attempt_at is null or alerts.next_attempt_at <= ?) order by alerts.id",
            [*keys, now()],
        )
        return [
            PendingAlert(**{**row, **{key: json.loads(row[key] or "[]")
                                      for key in ("evidence", "matched", "also_reported_by")}})
            for row in rows
        ]

    def mark_alert_sent(self, alert_id: int) -> None:
        with immediate_transaction(self.db.conn):
            self.db.execute(
                "update alerts set status = 'sent', attempts = attempts + 1, sent_at = ?, last_error = null "
                "where id = ?",
                [now(), alert_id],
            )

    def mark_alert_failed(self, alert_id: int, error: str, *, max_attempts: int = ALERT_MAX_ATTEMPTS) -> str:
        """Record a failed delivery; schedule the next try, or give up after ``max_attempts``.
        Returns the new status: "failed" (to be retried) or "gave up"."""
        with immediate_transaction(self.db.conn):
            (attempts,) = self.db.execute("select attempts + 1 from alerts where id = ?", [alert_id]).fetchone()
            status = "gave up" if attempts >= max_attempts else "failed"
            backoff = min(ALERT_FIRST_BACKOFF * 2 ** (attempts - 1), ALERT_MAX_BACKOFF)
            self.db.execute(
                "update alerts set status = ?, attempts = ?, last_error = ?, next_attempt_at = ? where id = ?",
                [status, attempts, error, now(backoff), alert_id],
            )
        return status

    def alerts_sent_since(self, channel_key: str, since: timedelta) -> int:
        """How many alerts this channel was sent in the last ``since``."""
        (count,) = self.db.execute(
            "select count(*) from alerts where channel = ? and status = 'sent' and sent_at >= ?",
            [channel_key, now(-since)],
        ).fetchone()
        return count

    def retry_alerts(self, alert_ids: Iterable[int] = ()) -> int:
        """Make failed and given-up alerts (all, or these) due now. Returns how many."""
        ids = list(alert_ids)
        where = f"and id in ({','.join('?' * len(ids))})" if ids else ""
        with immediate_transaction(self.db.conn):
            return self.db.execute(
                f"update alerts set status = 'failed', next_attempt_at = null "
                f"where status in ('failed', 'gave up') {where}", ids,
            ).rowcount

    def alerts(self) -> list[dict]:
        return list(self.db.query(
            "select alerts.id, alerts.story_id, articles.title, alerts.channel_label, alerts.status, alerts.attempts, "
            "alerts.last_error, alerts.next_attempt_at, alerts.created_at, alerts.sent_at "
            "from alerts join articles on articles.id = alerts.article_id order by alerts.id"
        ))
