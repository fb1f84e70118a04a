"""An Atom feed of flagged stories (feedgen): one entry per state change, newest first, so that a
feed reader shows what the alerts would have said."""

from __future__ import annotations

from html import escape

from feedgen.feed import FeedGenerator

from ._changes import StateChange, as_utc, state_changes

FEED_ID = "urn:newswatch:flagged-stories"


def atom_feed(stories: list[dict], *, title: str = "newswatch: flagged stories", topic: str | None = None,
              limit: int = 50, self_url: str | None = None) -> bytes:
    """The Atom document of the ``limit`` latest state changes of ``stories`` (Store.stories, flagged)."""
    changes = sorted(state_changes(stories), key=lambda c: c.change_id, reverse=True)[:limit]
    feed = FeedGenerator()
    feed.id(f"{FEED_ID}:{topic}" if topic else FEED_ID)
    feed.title(title)
    feed.author({"name": "newswatch"})
    feed.generator("newswatch")
    if self_url:
        feed.link(href=self_url, rel="self")
    feed.updated(as_utc(changes[0].changed_at) if changes else as_utc("1970-01-01"))
    for change in changes:
        entry = feed.add_entry(order="append")
        # One id per change: a reader shows a new state as a new item, as a channel gets a new alert.
        entry.id(f"{FEED_ID}:change:{change.change_id}")
        entry.title(f"[{change.label} · {change.state or 'flagged'}] {change.story['title'] or change.url}")
        entry.link(href=change.url)
        entry.author({"name": change.source})
        entry.category(term=change.state or "flagged", label=change.state or "flagged")
        entry.updated(as_utc(change.changed_at))
        entry.published(as_utc(change.published))
        entry.content(_content(change), type="html")
    return feed.atom_str(pretty=True)


def _content(change: StateChange) -> str:
    moved = (f"{escape(change.previous_state)} → {escape(change.state or '')}" if change.previous_state
             else escape(change.state or "flagged"))
    outlets = ", ".join(f'<a href="{escape(copy["url"])}">{escape(copy["outlet"])}</a>'
                        for copy in change.story["carried_by"])
    quote = f"<blockquote>{escape(change.sentence)}</blockquote>" if change.sentence else ""
    return (f"<p><b>{escape(change.label)}</b>: {moved} ({escape(change.day)}, {escape(change.source)})</p>{quote}"
            f"<p>Reported by {outlets}</p>")
