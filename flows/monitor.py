"""The monitor flow: sources → new pages → articles → store → alerts, once."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from prefect import flow, get_run_logger, task
from prefect.blocks.system import Secret
from prefect.cache_policies import NO_CACHE
from pydantic import SecretStr

import alerts
from detectors import Detection, Topic, detect_topics, load_topics
from extractors import Article, ExtractionError, extract_article
from newswatch.settings import Settings, load_settings, split_alert_urls
from sources import (
    FetchedPage,
    NotModified,
    FetchSettings,
    Source,
    SourceError,
    Validators,
    discover_many,
    fetch_pages,
    load_sources,
)
from storage import Store


# The Prefect Secret block that holds alert URLs for deployments: a string of URLs, or a list.
ALERT_URLS_BLOCK = "newswatch-alert-urls"


def alert_urls_from_block() -> list[str]:
    """The alert URLs stored in the Secret block, or none if there is no such block."""
    try:
        value = Secret.load(ALERT_URLS_BLOCK).get()
    except ValueError:  # no block of that name
        return []
    return list(value) if isinstance(value, list) else list(split_alert_urls(str(value)))


@dataclass
class Plan:
    """What one source announced this run and which of its pages to fetch."""

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


@dataclass
class Harvest:
    """What one source yielded this run, before anything is stored."""

    plan: Plan
    articles: list[tuple[Article, Detection]] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)
    # Validators the pages fetched answered with, for a conditional GET when one is fetched again.
    new_page_validators: dict[str, Validators] = field(default_factory=dict)

    @property
    def run_error(self) -> str | None:
        """Why this source failed this run: its feed could not be read, or every page it tried failed."""
        if self.plan.feed_error:
            return self.plan.feed_error
        if self.failures and not self.articles:
            return f"all {len(self.failures)} pages failed, e.g. {self.failures[0][1]}"
        return None


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


@task(name="discover-sources", cache_policy=NO_CACHE, persist_result=False)
def discover_sources(sources: list[Source], *, fetch: FetchSettings, db_path: Path, max_attempts: int) -> list[Plan]:
    """Read every feed and sitemap over one client (conditionally), and plan the pages to fetch:
    announced ones not stored yet, stored ones whose feed date changed (possible updates), and
    earlier failures still to retry."""
    logger = get_run_logger()
    with Store(db_path) as store:
        cached = {source.name: store.validators(source.name) for source in sources}
    discoveries = discover_many(sources, fetch, validators=cached)
    plans = []
    with Store(db_path) as store:
        for source in sources:
            plan = Plan(source=source.name, feed_url=source.feed or source.sitemap or source.homepage)
            found = discoveries[source.name]
            if isinstance(found, SourceError):
                logger.warning("%s: %s", source.name, found)
                plan.feed_error = str(found)
                announced = []
            else:
                announced, plan.validators = [e.url for e in found.entries], found.validators
                plan.entry_dates = {e.url: e.updated for e in found.entries if e.updated}
            plan.announced = len(announced)
            known = store.known_urls(announced)
            stored_dates = store.entry_dates(announced)
            updated = [url for url, date in plan.entry_dates.items()
                       if stored_dates.get(url) and stored_dates[url] != date]
            plan.todo = list(dict.fromkeys([u for u in announced if u not in known] + updated
                                           + store.urls_to_retry(source.name, max_attempts=max_attempts)))
            plan.page_validators = {url: cached[source.name][url] for url in updated if url in cached[source.name]}
            plans.append(plan)
    logger.info("%d sources: %d entries announced, %d pages to fetch", len(plans),
                sum(p.announced for p in plans), sum(len(p.todo) for p in plans))
    return plans


# Article text stays in memory: no result persistence, no input hashing for caches.
@task(name="collect-source", cache_policy=NO_CACHE, persist_result=False)
def collect_source(plan: Plan, *, fetch: FetchSettings, topics: list[Topic]) -> Harvest:
    """Fetch one source's planned pages, extract and detect."""
    harvest = Harvest(plan)
    for result in fetch_pages(plan.todo, fetch, validators=plan.page_validators):
        if isinstance(result, NotModified):
            continue  # an update announced by the feed, but the page itself has not changed
        if not isinstance(result, FetchedPage):
            harvest.failures.append((result.url, result.reason))
            continue
        if result.etag or result.last_modified:
            harvest.new_page_validators[result.url] = (result.etag, result.last_modified)
        try:
            article = extract_article(result.body, url=result.url)
        except ExtractionError as exc:
            harvest.failures.append((result.url, f"extraction: {exc}"))
            continue
        harvest.articles.append((article, detect_topics(topics, title=article.title, text=article.text)))
    get_run_logger().info("%s: %d fetched, %d failed", plan.source, len(plan.todo), len(harvest.failures))
    return harvest


@task(name="store-articles", cache_policy=NO_CACHE, persist_result=False)
def store_harvests(harvests: list[Harvest], *, db_path: Path, alert_urls: list[SecretStr]) -> RunSummary:
    channels = [alerts.channel_for(u.get_secret_value()) for u in alert_urls]
    summary = RunSummary(sources=len(harvests))
    with Store(db_path) as store:
        for harvest in harvests:
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
                summary.flagged += saved.status in ("new", "revised") and detection.flagged
            store.record_entry_dates(plan.entry_dates)
            store.save_validators(plan.source, {**plan.validators, **harvest.new_page_validators})
    return summary


@task(name="deliver-alerts", cache_policy=NO_CACHE, persist_result=False)
def deliver_alerts(*, db_path: Path, alert_urls: list[SecretStr], mode: str) -> alerts.Deliveries:
    """Send every due alert of the configured channels (one by one, or as a digest); record each outcome."""
    with Store(db_path) as store:
        outcome = alerts.deliver_pending(store, [u.get_secret_value() for u in alert_urls], mode=mode)
    if outcome.failed or outcome.gave_up:
        get_run_logger().warning("alerts: %d not delivered (retried later), %d given up after repeated failures",
                                 outcome.failed, outcome.gave_up)
    return outcome


@task(name="report-source-health", cache_policy=NO_CACHE, persist_result=False)
def report_source_health(harvests: list[Harvest], *, db_path: Path, alert_urls: list[SecretStr],
                         dark_after: int) -> list[str]:
    """Record each source's run; tell the alert channels once when one goes dark or comes back.
    Returns the sources that are dark now."""
    logger = get_run_logger()
    urls = [u.get_secret_value() for u in alert_urls]
    dark = []
    with Store(db_path) as store:
        for harvest in harvests:
            source = harvest.plan.source
            change = store.record_source_run(source, error=harvest.run_error, dark_after=dark_after)
            (health,) = store.source_health(source)
            if health["consecutive_failures"] >= dark_after:
                dark.append(source)
                logger.warning("source %s is dark since %s: %s", source, health["dark_since"], health["last_error"])
            if change and alerts.send_source_notice(urls, change=change, health=health):
                store.source_notified(source, dark=change == "dark")
    return dark


@flow(name="monitor", persist_result=False)
def monitor(sources_file: str | None = None, db_path: str | None = None,
            alert_urls: list[SecretStr] | None = None,
            alert_mode: Literal["each", "digest", "none"] = "each") -> RunSummary:
    """One monitor run over every source. Alert URLs come from ``alert_urls``, else
    NEWSWATCH_ALERT_URLS, else the Prefect Secret block "newswatch-alert-urls".

    alert_mode: "each" sends a message per story (a burst beyond the rate limit goes as one digest),
    "digest" one message per channel, "none" enqueues and sends nothing for this run's stories.
    """
    settings: Settings = load_settings(
        db_path=db_path, sources_file=sources_file,
        alert_urls=[u.get_secret_value() for u in alert_urls or []],
    )
    urls = settings.alert_urls or alert_urls_from_block()
    secret_urls = [] if alert_mode == "none" else [SecretStr(u) for u in urls]
    topics = load_topics(settings.topics_file)
    plans = discover_sources(load_sources(settings.sources_file), fetch=settings.fetch, db_path=settings.db_path,
                             max_attempts=settings.max_attempts)
    # One task per source with pages to fetch; a source with nothing new needs none.
    collecting = [collect_source.submit(plan, fetch=settings.fetch, topics=topics) for plan in plans if plan.todo]
    harvests = [future.result() for future in collecting] + [Harvest(plan) for plan in plans if not plan.todo]
    summary = store_harvests(harvests, db_path=settings.db_path, alert_urls=secret_urls)
    summary.dark_sources = report_source_health(harvests, db_path=settings.db_path, alert_urls=secret_urls,
                                                dark_after=settings.dark_after)
    delivered = deliver_alerts(db_path=settings.db_path, alert_urls=secret_urls, mode=alert_mode)
    summary.alerts_sent, summary.alerts_failed = delivered.sent, delivered.failed
    summary.alerts_gave_up = delivered.gave_up
    return summary
