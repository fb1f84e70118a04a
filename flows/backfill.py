"""The backfill flow: every article a source announces for a date range, in resumable chunks."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Executor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.task_runners import TaskRunner
from prefect.utilities.annotations import quote
from pydantic import SecretStr

from detectors import Topic
from newswatch.analysis import analysis_pool
from newswatch.settings import load_settings
from sources import FetchSettings, Source, SourceError, discover_many, parse_day
from storage import Store, run_lock

from ._dask import dask_cluster
from ._progress import PageProgress
from ._steps import (
    NETWORK_RETRIES,
    Harvest,
    Plan,
    RunSummary,
    alert_channels,
    collect,
    deliver_alerts,
    load_run_inputs,
    publish_report,
    save_harvests,
)

# Pages per chunk: the unit of resuming, what a rerun may fetch again, and what bounds the flow's
# memory (two chunks of page bodies in flight: 100 pages of 170 KB, in the pipeline benchmark).
DEFAULT_CHUNK_SIZE = 50
# Chunks fetched or extracted at once on one machine: what a backfill holds in memory.
CHUNKS_IN_FLIGHT = 2


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


def _in_range(day: date | None, since: date, until: date) -> bool:
    return day is None or since <= day <= until


@task(name="plan-backfill", cache_policy=NO_CACHE, persist_result=False, **NETWORK_RETRIES)
def plan_backfill(sources: list[Source], *, since: date, until: date, fetch: FetchSettings,
                  chunk_size: int) -> list[BackfillPlan]:
    """Read every source's feed or sitemap in full (not conditionally) and chunk the entries dated
    in the range, oldest first. Undated entries come last; their pages' own dates decide."""
    logger = get_run_logger()
    discoveries = discover_many(sources, fetch)
    plans = []
    for source in sources:
        found = discoveries[source.name]
        plan = BackfillPlan(source=source.name, feed_url=source.feed or source.sitemap or source.homepage)
        plans.append(plan)
        if isinstance(found, SourceError):
            logger.warning("%s: %s", source.name, found)
            plan.error = str(found)
            continue
        days = {entry.url: parse_day(entry.updated) for entry in found.entries}
        dates = {entry.url: entry.updated for entry in found.entries if entry.updated}
        urls = sorted((url for url, day in days.items() if _in_range(day, since, until)),
                      key=lambda url: (days[url] or date.max, url))
        for number, start in enumerate(range(0, len(urls), chunk_size)):
            part = urls[start:start + chunk_size]
            plan.chunks.append(Chunk(source.name, number, part,
                                     {url: dates[url] for url in part if url in dates}))
        logger.info("%s: %d of %d entries in %s..%s, %d chunks", source.name, len(urls), len(days), since, until,
                    len(plan.chunks))
    return plans


def plan_chunk(chunk: Chunk, *, backfill_key: str, db_path: Path, max_attempts: int) -> Plan | None:
    """The chunk's pages not stored yet, with what the store learnt of their sites; None when the
    chunk was finished before (and none of its pages failed and may be retried). Read by the flow:
    the store never leaves its process."""
    with Store(db_path) as store:
        retry = set(store.urls_to_retry(chunk.source, max_attempts=max_attempts)) & set(chunk.urls)
        if not retry and store.chunk_done(backfill_key, chunk.source, chunk.number, chunk.urls):
            return None
        known = store.known_urls(chunk.urls)
        todo = [url for url in chunk.urls if url not in known]
        return Plan(source=chunk.source, feed_url=None, announced=len(chunk.urls), todo=todo,
                    entry_dates=chunk.entry_dates, site_memory=store.site_memories(todo))


@task(name="collect-chunk", task_run_name="collect {chunk.source} #{chunk.number}", cache_policy=NO_CACHE,
      persist_result=False, **NETWORK_RETRIES)
def collect_chunk(chunk: Chunk, plan: Plan, *, since: date, until: date, fetch: FetchSettings,
                  topics: list[Topic], pool: Executor | None) -> Harvest:
    """Fetch, extract and detect the pages of a chunk's plan: here with ``pool``'s processes, or on a
    Dask worker (no pool, and no store)."""
    harvest = collect(plan, fetch=fetch, topics=topics, pool=pool)
    # An undated entry is kept when its page's own date is in the range, or unknown.
    harvest.articles = [(article, detection) for article, detection in harvest.articles
                        if article.url in chunk.entry_dates or _in_range(parse_day(article.published), since, until)]
    return harvest


@contextmanager
def chunk_runner(dask_address: str | None, *, topics_file: Path,
                 workers: int) -> Iterator[tuple[TaskRunner, Executor | None, int]]:
    """Where chunks are collected, with which pool, and how many at once. On a Dask cluster: a chunk
    for each worker thread and one more waiting. Here: the flow's own task runner, pages extracted
    on every core while the next chunk is fetched."""
    if dask_address:
        with dask_cluster(dask_address) as (runner, threads):
            yield runner, None, threads + 1
    else:
        with analysis_pool(topics_file, workers) as pool:
            yield FlowRunContext.get().task_runner, pool, CHUNKS_IN_FLIGHT


@task(name="store-chunk", task_run_name="store {chunk.source} #{chunk.number}", cache_policy=NO_CACHE,
      persist_result=False)
def store_chunk(chunk: Chunk, harvest: Harvest, *, backfill_key: str, db_path: Path,
                alert_urls: list[SecretStr]) -> RunSummary:
    """Store a chunk's articles and mark the chunk done, in one transaction."""
    with run_lock(db_path, wait=None), Store(db_path) as store, store.batch():
        summary = save_harvests(store, [harvest], alert_urls=alert_urls)
        store.finish_chunk(backfill_key, chunk.source, chunk.number, urls=chunk.urls,
                           stored=summary.new + summary.revised, failed=len(harvest.failures))
    return summary


@flow(name="newswatch", flow_run_name="backfill {since}..{until}", persist_result=False)
def backfill(since: date, until: date, sources_file: str | None = None, urls_file: str | None = None,
             db_path: str | None = None, alert_urls: list[SecretStr] | None = None,
             alert_mode: Literal["each", "digest", "none"] = "digest",
             chunk_size: int | None = None, workers: int | None = None,
             dask_address: str | None = None) -> RunSummary:
    """Store every article the sources (or the URL list in ``urls_file``) announce for the days
    ``since`` to ``until``, both included.

    Resumable: each finished chunk is recorded in the store, so a rerun after a crash goes on where
    it stopped, and a rerun of a finished range stores and alerts nothing new. Alerts default to one
    digest per channel at the end, so a backfill never floods a channel.

    chunk_size: pages per chunk (default: 50).
    workers: processes that extract pages (default: one per core).
    dask_address: a Dask scheduler (default: NEWSWATCH_DASK_ADDRESS) whose workers fetch and extract
    the pages instead; the store stays in this flow's process.
    """
    check_range(since, until)
    chunk_size = DEFAULT_CHUNK_SIZE if chunk_size is None else chunk_size
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1")
    workers = workers or os.cpu_count() or 1
    logger = get_run_logger()
    settings = load_settings(db_path=db_path, sources_file=sources_file, dask_address=dask_address,
                             alert_urls=[u.get_secret_value() for u in alert_urls or []])
    sources, topics = load_run_inputs(settings, urls_file=urls_file)
    channels = alert_channels(settings, alert_mode)
    plans = plan_backfill(sources, since=since, until=until, fetch=settings.fetch, chunk_size=chunk_size)
    key = f"{since.isoformat()}..{until.isoformat()}"

    summary = RunSummary()
    failed_sources = [Harvest(Plan(p.source, p.feed_url, feed_error=p.error)) for p in plans if p.error]
    if failed_sources:
        with run_lock(settings.db_path, wait=None), Store(settings.db_path) as store:
            summary.add(save_harvests(store, failed_sources, alert_urls=[]))
    chunks = [chunk for plan in plans for chunk in plan.chunks]
    with (chunk_runner(settings.dask_address, topics_file=settings.topics_file, workers=workers) if chunks
          else nullcontext((None, None, 0)) as (runner, pool, at_once),
          PageProgress(sum(len(c.urls) for c in chunks), key="backfill-progress",
                       description=f"backfill {key}") as progress):
        # Chunks are collected `at_once`, some fetched while others are extracted; the flow stores
        # each in turn (the only writer).
        in_flight: deque = deque()

        # The harvest is quoted, or Prefect walks each of its articles twice looking for futures (an
        # eighth of the flow process's CPU). Only here: quote() does not survive pickling for Dask.
        def store_oldest() -> None:
            chunk, collecting = in_flight.popleft()
            summary.add(store_chunk(chunk, quote(collecting.result()), backfill_key=key,
                                    db_path=settings.db_path, alert_urls=channels))
            progress.advance(len(chunk.urls))

        for chunk in chunks:
            plan = plan_chunk(chunk, backfill_key=key, db_path=settings.db_path, max_attempts=settings.max_attempts)
            if plan is None:
                summary.add(RunSummary(announced=len(chunk.urls)))
                progress.advance(len(chunk.urls))
                continue
            in_flight.append((chunk, runner.submit(collect_chunk, parameters={
                "chunk": chunk, "plan": plan, "since": since, "until": until, "fetch": settings.fetch,
                "topics": topics, "pool": pool})))
            if len(in_flight) == at_once:
                store_oldest()
        while in_flight:
            store_oldest()
    summary.sources = len(plans)
    logger.info("backfill %s: %d pages in range, %d new, %d duplicates, %d flagged, %d failed", key,
                summary.announced, summary.new, summary.duplicates, summary.flagged, len(summary.failures))
    with run_lock(settings.db_path, wait=None):
        delivered = deliver_alerts(db_path=settings.db_path, alert_urls=channels, mode=alert_mode)
    summary.alerts_sent, summary.alerts_failed, summary.alerts_gave_up = delivered.sent, delivered.failed, \
        delivered.gave_up
    publish_report(summary, db_path=settings.db_path, flow="backfill")
    return summary
