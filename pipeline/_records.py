"""What the steps of a run hand each other: a source's plan, what it yielded, the run's summary."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from alerts import Deliveries
from detectors import Detection
from extractors import Article, SiteMemory
from sources import Validators


@dataclass
class Plan:
    """What one source announced and which of its pages to fetch."""

    source: str
    feed_url: str | None
    announced: int = 0
    todo: list[str] = field(default_factory=list)
    feed_error: str | None = None
    # ETag / Last-Modified of the feeds and sitemaps read this run, saved once the articles are.
    validators: dict[str, Validators] = field(default_factory=dict)
    # The date the feed gives each entry; a stored entry whose date changed is fetched again.
    entry_dates: dict[str, str] = field(default_factory=dict)
    # What else the feed says of each entry, hashed: a stored entry whose fingerprint changed is fetched again.
    entry_fingerprints: dict[str, str] = field(default_factory=dict)
    # Validators of pages fetched before (updates): an unchanged page answers 304.
    page_validators: dict[str, Validators] = field(default_factory=dict)
    # What the store learnt of the sites of these pages: the lines each one repeats.
    site_memory: dict[str, SiteMemory] = field(default_factory=dict)


@dataclass
class Harvest:
    """What one source yielded, before anything is stored."""

    plan: Plan
    # Each article with every topic's detection, the best first.
    articles: list[tuple[Article, list[Detection]]] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)
    # Validators the pages fetched answered with, for a conditional GET when one is fetched again.
    new_page_validators: dict[str, Validators] = field(default_factory=dict)
    # Seconds of work per stage: fetch (wall), extract and detect (summed over pages).
    seconds: dict[str, float] = field(default_factory=lambda: {"fetch": 0.0, "extract": 0.0, "detect": 0.0})

    @property
    def run_error(self) -> str | None:
        """Why this source failed this run: its feed could not be read, or every page it tried failed."""
        if self.plan.feed_error:
            return self.plan.feed_error
        if self.failures and not self.articles:
            return f"all {len(self.failures)} pages failed, e.g. {self.failures[0][1]}"
        return None


def add_seconds(one: dict[str, float], other: dict[str, float]) -> dict[str, float]:
    return {stage: one.get(stage, 0.0) + other.get(stage, 0.0) for stage in {**one, **other}}


@dataclass
class RunSummary:
    sources: int = 0
    announced: int = 0
    fetched: int = 0
    new: int = 0
    revised: int = 0
    duplicates: int = 0
    flagged: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    alerts_sent: int = 0
    alerts_failed: int = 0
    alerts_gave_up: int = 0
    dark_sources: list[str] = field(default_factory=list)
    # The sources that failed this run: their feed unread, or every page they tried failed.
    failed_sources: list[str] = field(default_factory=list)
    # What this run flagged, one per story and topic: {story_id, topic, title, url, source, score, state}.
    flagged_stories: list[dict] = field(default_factory=list)
    # Why the run did nothing, when it did nothing on purpose (another run held the store).
    skipped: str | None = None
    # Seconds of work per stage (fetch, extract, detect, store).
    seconds: dict[str, float] = field(default_factory=dict)

    def add(self, other: RunSummary) -> None:
        """Add another part's counts, lists and seconds to this one (a backfill sums its chunks)."""
        for f in fields(self):
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            if isinstance(mine, dict):
                setattr(self, f.name, add_seconds(mine, theirs))
            elif isinstance(mine, int | list):
                setattr(self, f.name, mine + theirs)

    def count_deliveries(self, delivered: Deliveries) -> None:
        """Take the outcome of delivering this run's alerts."""
        self.alerts_sent, self.alerts_failed, self.alerts_gave_up = delivered.sent, delivered.failed, delivered.gave_up
