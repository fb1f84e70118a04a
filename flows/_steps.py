"""Steps the monitor, backfill and digest flows share: plans, harvests, and the tasks that fetch,
store, deliver and report."""

from __future__ import annotations

import time
from concurrent.futures import Executor
from dataclasses import dataclass, field, fields
from itertools import repeat
from pathlib import Path

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.blocks.system import Secret
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff
from pydantic import SecretStr

import alerts
from detectors import Detection, Topic, load_topics, with_second_opinion
from extractors import Article, SiteMemory
from newswatch.analysis import analyse
from newswatch.settings import Settings, split_alert_urls
from sources import (
    FetchedPage,
    FetchSettings,
    NotModified,
    Source,
    Validators,
    fetch_pages,
    load_sources,
    load_url_list,
)
from storage import Store

# The Prefect Secret block that holds alert URLs for deployments: a string of URLs, or a list.
ALERT_URLS_BLOCK = "newswatch-alert-urls"

# Tasks that touch the network are retried by Prefect if they crash (each page's own failures are
# values, retried by later runs): after 10 s, then 20 s.
NETWORK_RETRIES = {"retries": 2, "retry_delay_seconds": exponential_backoff(backoff_factor=10)}


def load_run_inputs(settings: Settings, *, urls_file: str | None = None) -> tuple[list[Source], list[Topic]]:
    """The sources a run reads (the URL list in ``urls_file``, else the sources file) and the topics;
    ValueError naming the file and what is wrong in it. The CLI calls it before a flow starts."""
    sources = [load_url_list(urls_file)] if urls_file else load_sources(settings.sources_file)
    return sources, load_topics(settings.topics_file)


def alert_urls_from_block() -> list[str]:
    """The alert URLs stored in the Secret block, or none if there is no such block."""
    try:
        value = Secret.load(ALERT_URLS_BLOCK).get()
    except ValueError:  # no block of that name
        return []
    return list(value) if isinstance(value, list) else list(split_alert_urls(str(value)))


def alert_channels(settings: Settings, mode: str) -> list[SecretStr]:
    """The alert URLs a run uses: from its settings, else the Secret block; none in mode "none"."""
    if mode == "none":
        return []
    urls = settings.alert_urls or alert_urls_from_block()
    if not urls:
        # Alerts are enqueued per channel when a story is flagged: without one, none is ever sent for it.
        get_run_logger().warning(
            "no alert channel: flagged stories are stored but alerted nowhere; give one with --alert, "
            "NEWSWATCH_ALERT_URLS or the Secret block %r, or run with alert mode none", ALERT_URLS_BLOCK)
    return [SecretStr(u) for u in urls]


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
    # Validators of pages fetched before (updates): an unchanged page answers 304.
    page_validators: dict[str, Validators] = field(default_factory=dict)
    # What the store learnt of the sites of these pages: the lines each one repeats.
    site_memory: dict[str, SiteMemory] = field(default_factory=dict)


@dataclass
class Harvest:
    """What one source yielded, before anything is stored."""

    plan: Plan
    articles: list[tuple[Article, Detection]] = field(default_factory=list)
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


def _add_seconds(one: dict[str, float], other: dict[str, float]) -> dict[str, float]:
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
    # The stories this run flagged: {story_id, title, url, source, score, state}.
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
                setattr(self, f.name, _add_seconds(mine, theirs))
            elif isinstance(mine, int | list):
                setattr(self, f.name, mine + theirs)


def collect(plan: Plan, *, fetch: FetchSettings, topics: list[Topic], pool: Executor | None = None) -> Harvest:
    """Fetch a plan's pages, extract and detect (in ``pool``'s processes when given)."""
    harvest = Harvest(plan)
    started = time.perf_counter()
    pages = []
    for result in fetch_pages(plan.todo, fetch, validators=plan.page_validators):
        if isinstance(result, NotModified):
            continue  # an update announced by the feed, but the page itself has not changed
        if not isinstance(result, FetchedPage):
            harvest.failures.append((result.url, result.reason))
            continue
        if result.etag or result.last_modified:
            harvest.new_page_validators[result.url] = (result.etag, result.last_modified)
        pages.append(result)
    harvest.seconds["fetch"] = time.perf_counter() - started
    analyses = (pool.map(analyse, pages, repeat(None), repeat(plan.site_memory), chunksize=4) if pool
                else (analyse(page, topics, plan.site_memory) for page in pages))
    for analysis in analyses:
        harvest.seconds["extract"] += analysis.extract_seconds
        if analysis.error:
            harvest.failures.append((analysis.url, analysis.error))
            continue
        second_look = time.perf_counter()
        article = analysis.article
        detection = with_second_opinion(topics, analysis.detection, title=article.title, text=article.text)
        harvest.seconds["detect"] += analysis.detect_seconds + time.perf_counter() - second_look
        harvest.articles.append((article, detection))
    get_run_logger().info("%s: %d fetched, %d failed", plan.source, len(plan.todo), len(harvest.failures))
    return harvest


# Article text stays in memory: no result persistence, no input hashing for caches.
@task(name="collect-source", cache_policy=NO_CACHE, persist_result=False, **NETWORK_RETRIES)
def collect_source(plan: Plan, *, fetch: FetchSettings, topics: list[Topic]) -> Harvest:
    """Fetch one source's planned pages, extract and detect."""
    return collect(plan, fetch=fetch, topics=topics)


def save_harvests(store: Store, harvests: list[Harvest], *, alert_urls: list[SecretStr]) -> RunSummary:
    """Store what the sources yielded: failures, articles (enqueueing alerts), entry dates, validators."""
    channels = [alerts.channel_for(u.get_secret_value()) for u in alert_urls]
    summary = RunSummary(sources=len(harvests))
    started = time.perf_counter()
    for harvest in harvests:
        summary.seconds = _add_seconds(summary.seconds, harvest.seconds)
        plan = harvest.plan
        summary.announced += plan.announced
        if plan.feed_error:
            store.record_failure(plan.feed_url, source=plan.source, reason=plan.feed_error, kind="feed")
            summary.failures.append((plan.feed_url, plan.feed_error))
        elif plan.feed_url:
            store.clear_failure(plan.feed_url)
        for url, reason in harvest.failures:
            store.record_failure(url, source=plan.source, reason=reason)
            summary.failures.append((url, reason))
        for article, detection in harvest.articles:
            saved = store.save_article(article, detection, source=plan.source, channels=channels)
            summary.fetched += 1
            summary.new += saved.status == "new"
            summary.revised += saved.status == "revised"
            summary.duplicates += saved.status == "duplicate"
            if saved.status in ("new", "revised") and detection.flagged:
                summary.flagged += 1
                summary.flagged_stories.append({
                    "story_id": saved.story_id, "title": article.title, "url": article.url, "source": plan.source,
                    "score": detection.score, "state": detection.state})
        store.record_entry_dates(plan.entry_dates)
        store.save_validators(plan.source, {**plan.validators, **harvest.new_page_validators})
    summary.seconds["store"] = time.perf_counter() - started
    return summary


@task(name="store-articles", cache_policy=NO_CACHE, persist_result=False)
def store_harvests(harvests: list[Harvest], *, db_path: Path, alert_urls: list[SecretStr]) -> RunSummary:
    with Store(db_path) as store:
        return save_harvests(store, harvests, alert_urls=alert_urls)


# No task retries here: a retry after a crash mid-send could send an alert twice. Failed
# deliveries are retried by the outbox, with its own backoff.
@task(name="deliver-alerts", cache_policy=NO_CACHE, persist_result=False)
def deliver_alerts(*, db_path: Path, alert_urls: list[SecretStr], mode: str) -> alerts.Deliveries:
    """Send every due alert of the configured channels (one by one, or as a digest); record each outcome."""
    with Store(db_path) as store:
        outcome = alerts.deliver_pending(store, [u.get_secret_value() for u in alert_urls], mode=mode)
    if outcome.failed or outcome.gave_up:
        get_run_logger().warning("alerts: %d not delivered (retried later), %d given up after repeated failures",
                                 outcome.failed, outcome.gave_up)
    return outcome


def _markdown_cell(value) -> str:
    return str(value if value is not None else "").replace("|", "\\|").replace("\n", " ")


@task(name="publish-report", cache_policy=NO_CACHE, persist_result=False)
def publish_report(summary: RunSummary, *, db_path: Path, flow: str) -> None:
    """Artifacts of this run in the Prefect UI: its flagged stories, and every source's health."""
    rows = ["| story | title | source | score | state |", "|---|---|---|---|---|"]
    rows += [f"| {s['story_id']} | [{_markdown_cell(s['title'] or s['url'])}]({s['url']}) | "
             f"{_markdown_cell(s['source'])} | {s['score']:.2f} | {_markdown_cell(s['state'])} |"
             for s in summary.flagged_stories]
    heading = f"# {len(summary.flagged_stories)} flagged stories this {flow} run\n\n"
    create_markdown_artifact(key=f"{flow}-flagged-stories", description="Stories flagged this run",
                             markdown=heading + ("\n".join(rows) if summary.flagged_stories else "None."))
    with Store(db_path) as store:
        health = store.source_health()
    create_table_artifact(key=f"{flow}-source-health", description="Every source's health after this run",
                          table=health or [{"source": "(no monitor run yet)"}])
