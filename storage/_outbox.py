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

    def _enqueue(self, story_id: int, article_id: int, topic: str, change_id: int,
                 channels: Iterable[AlertChannel]) -> int:
        enqueued = 0
        for channel in channels:
            enqueued += self.db.execute(
                "insert or ignore into alerts (story_id, article_id, topic, change_id, channel, channel_label, "
                "status, attempts, created_at) values (?, ?, ?, ?, ?, ?, 'pending', 0, ?)",
                [story_id, article_id, topic, change_id, channel.key, channel.label, now()],
            ).rowcount
        return enqueued

    def pending_alerts(self, channel_keys: Iterable[str]) -> list[PendingAlert]:
        """Alerts of these channels that are due: never tried, or failed and past their backoff. An
        alert's evidence is its topic's in the article; its "also reported by", the story's other
        outlets as they are now (outlets found since the change are named too)."""
        keys = list(channel_keys)
        if not keys:
            return []
        marks = ",".join("?" * len(keys))
        rows = self.db.query(
            "select alerts.id as alert_id, alerts.channel, alerts.story_id, alerts.attempts, alerts.topic, "
            "topics.label as topic_label, articles.id as article_id, articles.title, articles.url, "
            "coalesce(articles.site_name, articles.source) as outlet, articles.published, articles.language, "
            "coalesce(change.state, found.state, articles.state) as state, change.previous_state, "
            "coalesce(change.sentence, found.state_sentence) as state_sentence, "
            "coalesce(found.score, articles.score) as score, coalesce(found.evidence, articles.evidence) as evidence, "
            "coalesce(found.matched, articles.matched) as matched, "
            "case when change.id is null or change.id = (select min(id) from story_states first where "
            "first.story_id = change.story_id and first.topic = change.topic) then 'new' else 'state' end as kind "
            "from alerts join articles on articles.id = alerts.article_id "
            "left join story_states change on change.id = alerts.change_id "
            "left join article_topics found on found.article_id = alerts.article_id and found.topic = alerts.topic "
            "left join topics on topics.id = alerts.topic "
            f"where alerts.status in ('pending', 'failed') and alerts.channel in ({marks}) "
            "and (alerts.next_attempt_at is null or alerts.next_attempt_at <= ?) order by alerts.id",
            [*keys, now()],
        )
        pending = []
        for row in rows:
            article_id = row.pop("article_id")
            row["also_reported_by"] = self._other_outlets(row["story_id"], article_id, row["outlet"])
            row["evidence"], row["matched"] = json.loads(row["evidence"] or "[]"), json.loads(row["matched"] or "[]")
            pending.append(PendingAlert(**row))
        return pending

    def _other_outlets(self, story_id: int, article_id: int, outlet: str | None) -> list[dict]:
        """The story's outlets but ``outlet``, each with the URL of its first copy, first carried first."""
        rows = self.db.execute(
            "select coalesce(site_name, source), url from articles where story_id = ? and id != ? order by id",
            [story_id, article_id]).fetchall()
        others: dict[str, str] = {}
        for name, url in rows:
            if name != outlet:
                others.setdefault(name, url)
        return [{"outlet": name, "url": url} for name, url in others.items()]

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

    def alert_channels(self, alert_ids: Iterable[int]) -> dict[int, tuple[str, str, str]]:
        """{alert id: (channel key, channel label, status)} of those of ``alert_ids`` that exist."""
        ids = list(alert_ids)
        rows = self.db.execute(f"select id, channel, channel_label, status from alerts "
                               f"where id in ({','.join('?' * len(ids))})", ids).fetchall() if ids else []
        return {row[0]: tuple(row[1:]) for row in rows}

    def retarget_alerts(self, alert_ids: Iterable[int], channel: AlertChannel) -> int:
        """Move unsent alerts to another channel (a corrected URL of theirs). One whose change the
        channel already has an alert for is cancelled instead: no message twice. Returns how many moved."""
        moved = 0
        with immediate_transaction(self.db.conn):
            for alert_id in alert_ids:
                taken = self.db.execute(
                    "select 1 from alerts other join alerts this on this.id = ? where other.channel = ? "
                    "and other.change_id = this.change_id and other.id != this.id", [alert_id, channel.key]).fetchone()
                if taken:
                    self.db.execute("update alerts set status = 'cancelled', last_error = ? where id = ? "
                                    "and status != 'sent'", [f"already alerted on {channel.label}", alert_id])
                    continue
                moved += self.db.execute(
                    "update alerts set channel = ?, channel_label = ? where id = ? and status != 'sent'",
                    [channel.key, channel.label, alert_id]).rowcount
        return moved

    def cancel_alerts(self, alert_ids: Iterable[int]) -> int:
        """Cancel unsent alerts: they are never sent. Returns how many."""
        ids = list(alert_ids)
        with immediate_transaction(self.db.conn):
            return self.db.execute(
                f"update alerts set status = 'cancelled', next_attempt_at = null "
                f"where status in ('pending', 'failed', 'gave up') and id in ({','.join('?' * len(ids))})", ids,
            ).rowcount if ids else 0

    def alerts(self) -> list[dict]:
        return list(self.db.query(
            "select alerts.id, alerts.story_id, alerts.topic, articles.title, change.state, change.previous_state, "
            "alerts.channel_label, alerts.status, alerts.attempts, alerts.last_error, alerts.next_attempt_at, "
            "alerts.created_at, alerts.sent_at "
            "from alerts join articles on articles.id = alerts.article_id "
            "left join story_states change on change.id = alerts.change_id order by alerts.id"
        ))
