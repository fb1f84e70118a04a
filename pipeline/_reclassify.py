"""Detection run again over stored articles, after the topics changed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import alerts
from detectors import Topic, detect_each
from storage import Store

from ._steps import PreparedRun

# Articles detected again per transaction: a crash loses at most this many, and a rerun redoes them.
RECLASSIFY_BATCH = 200


@dataclass
class Reclassified:
    articles: int = 0
    # Stories a topic flagged for the first time (each alerted), and state changes recorded (not alerted).
    newly_flagged: int = 0
    state_changes: int = 0
    alerts_enqueued: int = 0


def reclassify(store: Store, run: PreparedRun, *, topic: str | None = None, since: date | None = None,
               progress: Callable[[int, int], None] | None = None) -> Reclassified:
    """Detect the stored articles (published since ``since``) again for every topic of the run, or
    ``topic`` alone, and enqueue alerts, for the run's channels, of the stories newly flagged.
    ValueError naming the topics when ``topic`` is none of them. ``progress(done, total)`` is called
    after each batch."""
    topics = _chosen(run.topics, topic)
    channels = [alerts.channel_for(url) for url in run.channel_urls()]
    ids = store.article_ids(since=since.isoformat() if since else None)
    before = store.state_counts()

    def detect(title: str | None, text: str, language: str | None):
        return detect_each(topics, title=title, text=text, language=language)

    for start in range(0, len(ids), RECLASSIFY_BATCH):
        store.redetect(ids[start:start + RECLASSIFY_BATCH], detect, channels)
        if progress:
            progress(min(start + RECLASSIFY_BATCH, len(ids)), len(ids))
    after = store.state_counts()
    flagged = after["story_topics"] - before["story_topics"]
    return Reclassified(articles=len(ids), newly_flagged=flagged,
                        state_changes=after["story_states"] - before["story_states"] - flagged,
                        alerts_enqueued=after["alerts"] - before["alerts"])


def _chosen(topics: list[Topic], topic: str | None) -> list[Topic]:
    if topic is None:
        return topics
    chosen = [t for t in topics if t.id == topic]
    if not chosen:
        raise ValueError(f"no topic {topic!r} in the topics file (its topics: {', '.join(t.id for t in topics)})")
    return chosen
