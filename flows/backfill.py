"""The backfill flow: every article a source announces for a date range, in resumable chunks."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Executor
from contextlib import contextmanager, nullcontext
from datetime import date
from pathlib import Path
from typing import Literal

from prefect import flow, get_run_logger
from prefect.context import FlowRunContext
from prefect.task_runners import TaskRunner
from prefect.utilities.annotations import quote
from pydantic import SecretStr

from pipeline import (
    DEFAULT_CHUNK_SIZE,
    RunSummary,
    analysis_pool,
    backfill_key,
    check_range,
    chunks_of,
    load_settings,
    plan_chunk,
    prepare_run,
    save_failed_sources,
)
from sources import FetchSession
from storage import Store, run_lock

from ._dask import dask_cluster
from ._progress import PageProgress
from ._tasks import alert_urls_from_block, collect_chunk, deliver_alerts, plan_backfill, publish_report, store_chunk

# Chunks fetched or extracted at once on one machine: what a backfill holds in memory.
CHUNKS_IN_FLIGHT = 2


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


@flow(name="newswatch", flow_run_name="backfill {since}..{until}", persist_result=False)
def backfill(since: date, until: date, sources_file: str | None = None, urls_file: str | None = None,
             warc_files: list[str] | None = None, db_path: str | None = None, alert_urls: list[SecretStr] | None = None,
             alert_mode: Literal["each", "digest", "none"] = "digest",
             chunk_size: int | None = None, workers: int | None = None,
             dask_address: str | None = None) -> RunSummary:
    """Store every article the sources (or the URL list in ``urls_file``, or the WARC files in
    ``warc_files``) hold for the days ``since`` to ``until``, both included.

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
    settings = load_settings(db_path=db_path, sources_file=sources_file, dask_address=dask_address,
                             alert_urls=alert_urls)
    run = prepare_run(settings, alert_mode=alert_mode, urls_file=urls_file, warc_files=warc_files or (),
                      fallback_alert_urls=alert_urls_from_block)
    plans = plan_backfill(run, since=since, until=until)
    key = backfill_key(since, until)
    chunks = chunks_of(plans, chunk_size)
    with Store(settings.db) as store:
        with run_lock(settings.db, wait=None):
            summary = save_failed_sources(store, plans, run)
        with (chunk_runner(settings.dask_address, topics_file=settings.topics, workers=workers or os.cpu_count() or 1)
              if chunks else nullcontext((None, None, 0)) as (runner, pool, at_once),
              # One client for the run, and each host's robots.txt read once; not on Dask's workers.
              FetchSession(run.fetch) if chunks and not settings.dask_address else nullcontext() as session,
              PageProgress([url for c in chunks for url in c.urls], key="backfill-progress",
                           description=f"backfill {key}") as progress):
            # Chunks are collected `at_once`, some fetched while others are extracted; the flow stores
            # each in turn (the only writer).
            in_flight: deque = deque()

            # The harvests are quoted, or Prefect walks each of their articles twice looking for futures (an
            # eighth of the flow process's CPU). Only here: quote() does not survive pickling for Dask.
            def store_oldest() -> None:
                chunk, planned, collecting = in_flight.popleft()
                summary.add(store_chunk(store, chunk, quote(collecting.result()), run, key=key))
                progress.stored([url for plan in planned for url in plan.todo], counted=session is not None)

            for chunk in chunks:
                planned = plan_chunk(store, chunk, run, key=key)
                if planned is None:
                    summary.add(RunSummary(announced=len(chunk.urls)))
                    progress.stored(chunk.urls, counted=False)
                    continue
                todo = {url for plan in planned for url in plan.todo}
                progress.stored([url for url in chunk.urls if url not in todo], counted=False)  # stored before
                in_flight.append((chunk, planned, runner.submit(collect_chunk, parameters={
                    "chunk": chunk, "plans": planned, "since": since, "until": until, "fetch": run.fetch,
                    "topics": run.topics, "pool": pool, "session": session,
                    "on_fetched": progress.fetched if session else None})))
                if len(in_flight) == at_once:
                    store_oldest()
            while in_flight:
                store_oldest()
        summary.sources = len(plans)
        get_run_logger().info("backfill %s: %d pages in range, %d new, %d duplicates, %d flagged, %d failed", key,
                              summary.announced, summary.new, summary.duplicates, summary.flagged,
                              len(summary.failures))
        with run_lock(settings.db, wait=None):
            summary.count_deliveries(deliver_alerts(store, run))
        publish_report(summary, store, flow="backfill", dark_after=run.settings.dark_after)
    return summary
