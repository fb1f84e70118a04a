"""The steps of a backfill: every entry a source dates in a range, in resumable chunks."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from detectors import Topic
from sources import FetchSession, FetchSettings, SourceError, WarcIndex, discover_many, index_warc, parse_day
from storage import Store

from ._records import Harvest, Plan, RunSummary
from ._steps import PreparedRun, collect_plans, deliver, save_harvests

log = logging.getLogger("newswatch.pipeline")

# Pages per chunk: the unit of resuming, what a rerun may fetch again, and what bounds the flow's
# memory (two chunks of page bodies in flight: 100 pages of 170 KB, in the pipeline benchmark).
DEFAULT_CHUNK_SIZE = 50


@dataclass
class Chunk:
    """A slice of a backfill: the unit of work, of memory and of resumption. Its pages come from
    every source with pages left, taken in turn, so that many hosts are fetched at once and no one
    host's politeness sets the pace."""

    number: int
    # Each source's pages in this chunk.
    parts: dict[str, list[str]]
    # The entries' dates as the sources give them (none for undated entries).
    entry_dates: dict[str, str] = field(default_factory=dict)
    # Pages read from WARC files, not fetched: {URL: (file, offset of its record)}.
    archived: dict[str, tuple[str, int]] = field(default_factory=dict)

    @property
    def urls(self) -> list[str]:
        return [url for urls in self.parts.values() for url in urls]


@dataclass
class BackfillPlan:
    """What one source announces in the range, oldest first (undated entries last)."""

    source: str
    feed_url: str | None
    urls: list[str] = field(default_factory=list)
    entry_dates: dict[str, str] = field(default_factory=dict)
    error: str | None = None
    # A WARC file's source: where its pages are, and what in the file could not be read.
    archive: WarcIndex | None = None


def check_range(since: date, until: date) -> None:
    """ValueError when the range is empty: ``until`` before ``since``."""
    if until < since:
        raise ValueError(f"until ({until}) is before since ({since})")


def backfill_key(since: date, until: date) -> str:
    """How the store's checkpoints name a backfill: its range."""
    return f"{since.isoformat()}..{until.isoformat()}"


def _in_range(day: date | None, since: date, until: date) -> bool:
    return day is None or since <= day <= until


def plan_backfill(run: PreparedRun, *, since: date, until: date) -> list[BackfillPlan]:
    """Read every source's feed or sitemap in full (not conditionally) and keep the entries dated in
    the range, oldest first. Undated entries come last; their pages' own dates decide. A backfill of
    WARC files indexes each instead: every page it holds, dated by the page itself."""
    if run.warc_files:
        return [_warc_plan(path) for path in run.warc_files]
    discoveries = discover_many(run.sources, run.fetch)
    plans = []
    for source in run.sources:
        found = discoveries[source.name]
        plan = BackfillPlan(source=source.name, feed_url=source.feed or source.sitemap or source.homepage)
        plans.append(plan)
        if isinstance(found, SourceError):
            log.warning("%s: %s", source.name, found)
            plan.error = str(found)
            continue
        days = {entry.url: parse_day(entry.updated) for entry in found.entries}
        dates = {entry.url: entry.updated for entry in found.entries if entry.updated}
        plan.urls = sorted((url for url, day in days.items() if _in_range(day, since, until)),
                           key=lambda url: (days[url] or date.max, url))
        plan.entry_dates = {url: dates[url] for url in plan.urls if url in dates}
        log.info("%s: %d of %d entries in %s..%s", source.name, len(plan.urls), len(days), since, until)
    return plans


def _warc_plan(path: Path) -> BackfillPlan:
    index = index_warc(path)
    damage = f"; {index.failures[0].reason}" if index.failures else ""
    log.info("%s: %d pages archived%s", path, len(index.offsets), damage)
    return BackfillPlan(source=f"warc {path.name}", feed_url=None, urls=list(index.offsets), archive=index)


def chunks_of(plans: list[BackfillPlan], chunk_size: int) -> list[Chunk]:
    """The sources' pages in chunks of ``chunk_size``, each source's in its order, the sources taken
    in turn a page at a time: a chunk holds pages of as many hosts as have pages left. The same
    plans make the same chunks, so a rerun finds its checkpoints."""
    queues = [(plan.source, deque(plan.urls)) for plan in plans if plan.urls]
    taken: list[tuple[str, str]] = []
    while queues:
        for source, urls in queues:
            taken.append((source, urls.popleft()))
        queues = [(source, urls) for source, urls in queues if urls]
    dates = {url: day for plan in plans for url, day in plan.entry_dates.items()}
    archived = {url: (str(plan.archive.path), offset) for plan in plans if plan.archive
                for url, offset in plan.archive.offsets.items()}
    chunks = []
    for number, start in enumerate(range(0, len(taken), chunk_size)):
        parts: dict[str, list[str]] = {}
        for source, url in taken[start:start + chunk_size]:
            parts.setdefault(source, []).append(url)
        urls = [url for _, url in taken[start:start + chunk_size]]
        chunks.append(Chunk(number, parts, {url: dates[url] for url in urls if url in dates},
                            {url: archived[url] for url in urls if url in archived}))
    return chunks


def save_failed_sources(store: Store, plans: list[BackfillPlan], run: PreparedRun) -> RunSummary:
    """Record the sources whose feed or sitemap could not be read, and the WARC files damaged or cut off."""
    failed = [Harvest(Plan(p.source, p.feed_url, feed_error=p.error),
                      failures=[(f.url, f.reason) for f in p.archive.failures] if p.archive else [])
              for p in plans if p.error or (p.archive and p.archive.failures)]
    return save_harvests(store, failed, run) if failed else RunSummary()


def plan_chunk(store: Store, chunk: Chunk, run: PreparedRun, *, key: str) -> list[Plan] | None:
    """Each of the chunk's sources' pages not stored yet, with what the store learnt of their sites;
    None when the chunk was finished before (and none of its pages failed and may be retried)."""
    attempts = run.settings.max_attempts
    # A page that failed is fetched again; an archived one would fail the same way.
    retry = set() if chunk.archived else {
        url for source in chunk.parts for url in store.urls_to_retry(source, max_attempts=attempts)}
    if not retry & set(chunk.urls) and all(store.chunk_done(key, source, chunk.number, urls)
                                           for source, urls in chunk.parts.items()):
        return None
    known = store.known_urls(chunk.urls)
    plans = []
    for source, urls in chunk.parts.items():
        todo = [url for url in urls if url not in known]
        plans.append(Plan(source=source, feed_url=None, announced=len(urls), todo=todo,
                          entry_dates={url: chunk.entry_dates[url] for url in urls if url in chunk.entry_dates},
                          site_memory=store.site_memories(todo)))
    return plans


def collect_chunk(chunk: Chunk, plans: list[Plan], *, since: date, until: date, fetch: FetchSettings,
                  topics: list[Topic], pool: Executor | None = None, session: FetchSession | None = None,
                  on_fetched: Callable[[str], None] | None = None) -> list[Harvest]:
    """Fetch (every source's pages at once), extract and detect a chunk's planned pages. An undated
    entry is kept when its page's own date is in the range, or unknown."""
    harvests = collect_plans(plans, fetch=fetch, topics=topics, pool=pool, session=session, on_fetched=on_fetched,
                             archived=chunk.archived)
    for harvest in harvests:
        harvest.articles = [(article, detections) for article, detections in harvest.articles
                            if article.url in chunk.entry_dates
                            or _in_range(parse_day(article.published), since, until)]
    return harvests


def store_chunk(store: Store, chunk: Chunk, harvests: list[Harvest], run: PreparedRun, *, key: str) -> RunSummary:
    """Store a chunk's articles and mark each of its sources' parts done, in one transaction."""
    with store.batch():
        summary = RunSummary()
        for harvest in harvests:
            part = save_harvests(store, [harvest], run)
            summary.add(part)
            store.finish_chunk(key, harvest.plan.source, chunk.number, urls=chunk.parts[harvest.plan.source],
                               stored=part.new + part.revised, failed=len(harvest.failures))
    return summary


def backfill_once(run: PreparedRun, store: Store, *, since: date, until: date,
                  chunk_size: int = DEFAULT_CHUNK_SIZE) -> RunSummary:
    """A backfill in this process, one chunk after another: the backfill flow's steps without Prefect
    and without extraction processes (what the fast tests run; the flow overlaps chunks)."""
    check_range(since, until)
    plans = plan_backfill(run, since=since, until=until)
    key = backfill_key(since, until)
    summary = save_failed_sources(store, plans, run)
    for chunk in chunks_of(plans, chunk_size):
        planned = plan_chunk(store, chunk, run, key=key)
        if planned is None:
            summary.add(RunSummary(announced=len(chunk.urls)))
            continue
        harvests = collect_chunk(chunk, planned, since=since, until=until, fetch=run.fetch, topics=run.topics)
        summary.add(store_chunk(store, chunk, harvests, run, key=key))
    summary.sources = len(plans)
    summary.count_deliveries(deliver(store, run))
    return summary
