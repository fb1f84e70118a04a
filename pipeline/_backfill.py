"""The steps of a backfill: every entry a source dates in a range, in resumable chunks."""

from __future__ import annotations

import logging
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import date

from detectors import Topic
from sources import FetchSettings, SourceError, discover_many, parse_day
from storage import Store

from ._records import Harvest, Plan, RunSummary
from ._steps import PreparedRun, collect, deliver, save_harvests

log = logging.getLogger("newswatch.pipeline")

# Pages per chunk: the unit of resuming, what a rerun may fetch again, and what bounds the flow's
# memory (two chunks of page bodies in flight: 100 pages of 170 KB, in the pipeline benchmark).
DEFAULT_CHUNK_SIZE = 50


@dataclass
class Chunk:
    """A slice of one source's backfill: the unit of work, of memory and of resumption."""

    source: str
    number: int
    urls: list[str]
    # The entries' dates as the source gives them (none for undated entries).
    entry_dates: dict[str, str] = field(default_factory=dict)


@dataclass
class BackfillPlan:
    source: str
    feed_url: str | None
    chunks: list[Chunk] = field(default_factory=list)
    error: str | None = None


def check_range(since: date, until: date) -> None:
    """ValueError when the range is empty: ``until`` before ``since``."""
    if until < since:
        raise ValueError(f"until ({until}) is before since ({since})")


def backfill_key(since: date, until: date) -> str:
    """How the store's checkpoints name a backfill: its range."""
    return f"{since.isoformat()}..{until.isoformat()}"


def _in_range(day: date | None, since: date, until: date) -> bool:
    return day is None or since <= day <= until


def plan_backfill(run: PreparedRun, *, since: date, until: date, chunk_size: int) -> list[BackfillPlan]:
    """Read every source's feed or sitemap in full (not conditionally) and chunk the entries dated
    in the range, oldest first. Undated entries come last; their pages' own dates decide."""
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
        urls = sorted((url for url, day in days.items() if _in_range(day, since, until)),
                      key=lambda url: (days[url] or date.max, url))
        for number, start in enumerate(range(0, len(urls), chunk_size)):
            part = urls[start:start + chunk_size]
            plan.chunks.append(Chunk(source.name, number, part, {url: dates[url] for url in part if url in dates}))
        log.info("%s: %d of %d entries in %s..%s, %d chunks", source.name, len(urls), len(days), since, until,
                 len(plan.chunks))
    return plans


def save_failed_sources(store: Store, plans: list[BackfillPlan], run: PreparedRun) -> RunSummary:
    """Record the sources whose feed or sitemap could not be read."""
    failed = [Harvest(Plan(p.source, p.feed_url, feed_error=p.error)) for p in plans if p.error]
    return save_harvests(store, failed, run) if failed else RunSummary()


def plan_chunk(store: Store, chunk: Chunk, run: PreparedRun, *, key: str) -> Plan | None:
    """The chunk's pages not stored yet, with what the store learnt of their sites; None when the
    chunk was finished before (and none of its pages failed and may be retried)."""
    retry = set(store.urls_to_retry(chunk.source, max_attempts=run.settings.max_attempts)) & set(chunk.urls)
    if not retry and store.chunk_done(key, chunk.source, chunk.number, chunk.urls):
        return None
    known = store.known_urls(chunk.urls)
    todo = [url for url in chunk.urls if url not in known]
    return Plan(source=chunk.source, feed_url=None, announced=len(chunk.urls), todo=todo,
                entry_dates=chunk.entry_dates, site_memory=store.site_memories(todo))


def collect_chunk(chunk: Chunk, plan: Plan, *, since: date, until: date, fetch: FetchSettings, topics: list[Topic],
                  pool: Executor | None = None) -> Harvest:
    """Fetch, extract and detect a chunk's planned pages. An undated entry is kept when its page's
    own date is in the range, or unknown."""
    harvest = collect(plan, fetch=fetch, topics=topics, pool=pool)
    harvest.articles = [(article, detections) for article, detections in harvest.articles
                        if article.url in chunk.entry_dates or _in_range(parse_day(article.published), since, until)]
    return harvest


def store_chunk(store: Store, chunk: Chunk, harvest: Harvest, run: PreparedRun, *, key: str) -> RunSummary:
    """Store a chunk's articles and mark the chunk done, in one transaction."""
    with store.batch():
        summary = save_harvests(store, [harvest], run)
        store.finish_chunk(key, chunk.source, chunk.number, urls=chunk.urls,
                           stored=summary.new + summary.revised, failed=len(harvest.failures))
    return summary


def backfill_once(run: PreparedRun, store: Store, *, since: date, until: date,
                  chunk_size: int = DEFAULT_CHUNK_SIZE) -> RunSummary:
    """A backfill in this process, one chunk after another: the backfill flow's steps without Prefect
    and without extraction processes (what the fast tests run; the flow overlaps chunks)."""
    check_range(since, until)
    plans = plan_backfill(run, since=since, until=until, chunk_size=chunk_size)
    key = backfill_key(since, until)
    summary = save_failed_sources(store, plans, run)
    for chunk in [chunk for plan in plans for chunk in plan.chunks]:
        plan = plan_chunk(store, chunk, run, key=key)
        if plan is None:
            summary.add(RunSummary(announced=len(chunk.urls)))
            continue
        harvest = collect_chunk(chunk, plan, since=since, until=until, fetch=run.fetch, topics=run.topics)
        summary.add(store_chunk(store, chunk, harvest, run, key=key))
    summary.sources = len(plans)
    summary.count_deliveries(deliver(store, run))
    return summary
