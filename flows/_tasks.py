"""The pipeline's steps as Prefect tasks: the unit of retry, concurrency and of what the UI shows.
Each task calls one step of the pipeline package; the store is opened once per flow run."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from datetime import date

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.blocks.system import Secret
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff

import alerts
import pipeline
from detectors import Topic
from pipeline import BackfillPlan, Chunk, Harvest, Plan, PreparedRun, RunSummary
from sources import FetchSession, FetchSettings
from storage import Store, run_lock

# The Prefect Secret block that holds alert URLs for deployments: a string of URLs, or a list.
ALERT_URLS_BLOCK = "newswatch-alert-urls"

# Tasks that touch the network are retried by Prefect if they crash (each page's own failures are
# values, retried by later runs): after 10 s, then 20 s.
NETWORK_RETRIES = {"retries": 2, "retry_delay_seconds": exponential_backoff(backoff_factor=10)}
# Article text stays in memory: no result persistence, no input hashing for caches.
IN_MEMORY = {"cache_policy": NO_CACHE, "persist_result": False}


def alert_urls_from_block() -> list[str]:
    """The alert URLs stored in the Secret block, or none if there is no such block."""
    try:
        value = Secret.load(ALERT_URLS_BLOCK).get()
    except ValueError:  # no block of that name
        return []
    return list(value) if isinstance(value, list) else list(pipeline.split_list(str(value)))


@task(name="discover-sources", **IN_MEMORY, **NETWORK_RETRIES)
def discover_sources(run: PreparedRun, store: Store) -> list[Plan]:
    return pipeline.plan_sources(run, store)


@task(name="collect-source", **IN_MEMORY, **NETWORK_RETRIES)
def collect_source(plan: Plan, *, fetch: FetchSettings, topics: list[Topic],
                   session: FetchSession | None = None) -> Harvest:
    return pipeline.collect(plan, fetch=fetch, topics=topics, session=session)


@task(name="store-articles", **IN_MEMORY)
def store_harvests(store: Store, harvests: list[Harvest], run: PreparedRun) -> RunSummary:
    return pipeline.save_harvests(store, harvests, run)


@task(name="report-source-health", **IN_MEMORY)
def report_source_health(store: Store, harvests: list[Harvest], run: PreparedRun) -> list[str]:
    return pipeline.record_source_health(store, harvests, run)


# No task retries here: a retry after a crash mid-send could send an alert twice. Failed
# deliveries are retried by the outbox, with its own backoff.
@task(name="deliver-alerts", **IN_MEMORY)
def deliver_alerts(store: Store, run: PreparedRun, *, mode: str | None = None) -> alerts.Deliveries:
    return pipeline.deliver(store, run, mode=mode)


@task(name="plan-backfill", **IN_MEMORY, **NETWORK_RETRIES)
def plan_backfill(run: PreparedRun, *, since: date, until: date) -> list[BackfillPlan]:
    return pipeline.plan_backfill(run, since=since, until=until)


@task(name="collect-chunk", task_run_name="collect chunk #{chunk.number}", **IN_MEMORY, **NETWORK_RETRIES)
def collect_chunk(chunk: Chunk, plans: list[Plan], *, since: date, until: date, fetch: FetchSettings,
                  topics: list[Topic], pool: Executor | None = None, session: FetchSession | None = None,
                  on_fetched: Callable[[str], None] | None = None) -> list[Harvest]:
    """Here with the flow's extraction processes (``pool``) and HTTP session, or on a Dask worker (no
    pool, no session, no store)."""
    return pipeline.collect_chunk(chunk, plans, since=since, until=until, fetch=fetch, topics=topics, pool=pool,
                                  session=session, on_fetched=on_fetched)


@task(name="store-chunk", task_run_name="store chunk #{chunk.number}", **IN_MEMORY)
def store_chunk(store: Store, chunk: Chunk, harvests: list[Harvest], run: PreparedRun, *, key: str) -> RunSummary:
    with run_lock(run.settings.db, wait=None):
        return pipeline.store_chunk(store, chunk, harvests, run, key=key)


@task(name="publish-report", **IN_MEMORY)
def publish_report(summary: RunSummary, store: Store, *, flow: str, dark_after: int) -> None:
    """Artifacts of this run in the Prefect UI: its flagged stories, and every source's health."""
    rows = ["| story | topic | title | source | score | state |", "|---|---|---|---|---|---|"]
    rows += [f"| {s['story_id']} | {alerts.markdown_text(s['topic'])} | "
             f"{alerts.markdown_link(s['url'], s['title'] or s['url'])} | "
             f"{alerts.markdown_text(s['source'])} | {s['score']:.2f} | {alerts.markdown_text(s['state'])} |"
             for s in summary.flagged_stories]
    heading = f"# {len(summary.flagged_stories)} flagged stories this {flow} run\n\n"
    create_markdown_artifact(key=f"{flow}-flagged-stories", description="Stories flagged this run",
                             markdown=heading + ("\n".join(rows) if summary.flagged_stories else "None."))
    create_table_artifact(key=f"{flow}-source-health", description="Every source's health after this run",
                          table=store.source_health(dark_after=dark_after) or [{"source": "(no monitor run yet)"}])
