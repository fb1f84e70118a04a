"""The state changes of flagged stories, the unit both the feed and the report are made of."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime


@dataclass(frozen=True)
class StateChange:
    """One change of a story's state for a topic (its first flagging is one), with what made it."""

    change_id: int
    story: dict  # the story as Store.stories gives it
    topic: str
    label: str
    state: str | None
    previous_state: str | None
    url: str
    source: str
    sentence: str | None
    published: str  # the day of the article that made the change (published, or fetched when undated)
    changed_at: str  # when newswatch recorded it

    @property
    def day(self) -> str:
        return self.published[:10]


def state_changes(stories: list[dict], *, since: date | None = None, until: date | None = None) -> list[StateChange]:
    """Every state change of ``stories`` whose article is of a day from ``since`` to ``until``
    (both included), oldest first."""
    changes = [StateChange(change["change_id"], story, topic["topic"], topic["label"] or topic["topic"],
                           change["state"], change["previous_state"], change["url"], change["source"],
                           change["sentence"], change["published"], change["changed_at"])
               for story in stories for topic in story["topics"] for change in topic["history"]]
    return sorted((c for c in changes if (not since or c.day >= since.isoformat())
                   and (not until or c.day <= until.isoformat())), key=lambda c: (c.day, c.change_id))


def as_utc(timestamp: str) -> datetime:
    """A stored date or timestamp as an aware datetime: a bare day is its midnight, UTC."""
    moment = datetime.fromisoformat(timestamp)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
