"""The steps of a monitor run, as plain functions over an open store: prepare, plan, collect, save,
record source health, deliver. The flows call them as Prefect tasks; tests and benchmarks may call
them directly, with no Prefect API."""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import cache, partial
from itertools import repeat
from pathlib import Path

from pydantic import SecretStr

import alerts
from detectors import Topic, load_topics, with_second_opinion
from sources import (
    FetchedPage,
    FetchSession,
    FetchSettings,
    NotModified,
    Source,
    SourceError,
    discover_many,
    fetch_pages,
    listed_hosts,
    load_sources,
    load_url_list,
    read_archived,
)
from storage import Filters, Store

from ._analysis import analyse
from ._records import Harvest, Plan, RunSummary, add_seconds
from ._settings import Settings

log = logging.getLogger("newswatch.pipeline")

ALERT_MODES = ("each", "digest", "queue", "none")


@dataclass(frozen=True)
class PreparedRun:
    """What a run reads, read and checked once: settings, sources, topics and alert channels."""

    settings: Settings
    sources: list[Source]
    topics: list[Topic]
    # The alert URLs this run enqueues for and sends to: none in alert mode "none".
    channels: tuple[SecretStr, ...]
    alert_mode: str
    # WARC files a backfill reads instead of sources.
    warc_files: tuple[Path, ...] = ()

    @property
    def fetch(self) -> FetchSettings:
        """How to fetch: the settings', with the hosts the sources name trusted whatever their address."""
        return replace(self.settings.fetch, trusted_hosts=listed_hosts(self.sources))

    def channel_urls(self) -> list[str]:
        """The channels' URLs in clear, for the alerts package only."""
        return [url.get_secret_value() for url in self.channels]


def prepare_run(settings: Settings, *, alert_mode: str = "each", urls_file: str | Path | None = None,
                warc_files: Sequence[str | Path] = (), fallback_alert_urls: Callable[[], list[str]] | None = None,
                reads_sources: bool = True) -> PreparedRun:
    """Read and check everything a run reads before it starts: the alert URLs (the settings', else
    ``fallback_alert_urls()``; none in alert mode "none"), the sources (or the URL list in
    ``urls_file``, or none but ``warc_files``) and the topics when it ``reads_sources`` (a digest does
    not). ValueError naming the file, variable or URL that is wrong. The store is the caller's to
    open, once."""
    if alert_mode not in ALERT_MODES:
        raise ValueError(f"alert mode must be one of {', '.join(ALERT_MODES)}, not {alert_mode!r}")
    channels: tuple[SecretStr, ...] = ()
    if alert_mode != "none":
        channels = settings.alert_urls or tuple(SecretStr(u) for u in (fallback_alert_urls or list)())
        for url in channels:
            try:
                alerts.check_url(url.get_secret_value())
            except alerts.DeliveryError as exc:
                raise ValueError(f"{exc} (check a channel with `newswatch alerts test URL`)") from None
    sources, topics = [], []
    for path in warc_files:
        if not Path(path).is_file():
            raise ValueError(f"{path}: no such WARC file")
    if reads_sources:
        if not warc_files:
            sources = [load_url_list(urls_file)] if urls_file else load_sources(settings.sources)
        topics = load_topics(settings.topics)
    return PreparedRun(settings, sources, topics, channels, alert_mode, tuple(map(Path, warc_files)))


def plan_sources(run: PreparedRun, store: Store) -> list[Plan]:
    """Read every feed and sitemap over one client (conditionally), and plan the pages to fetch:
    announced ones not stored yet, stored ones whose feed date changed (possible updates), and
    earlier failures still to retry."""
    cached = {source.name: store.validators(source.name) for source in run.sources}
    discoveries = discover_many(run.sources, run.fetch, validators=cached)
    plans = []
    for source in run.sources:
        plan = Plan(source=source.name, feed_url=source.feed or source.sitemap or source.homepage)
        found = discoveries[source.name]
        if isinstance(found, SourceError):
            log.warning("%s: %s", source.name, found)
            plan.feed_error = str(found)
            announced = []
        else:
            announced, plan.validators = [e.url for e in found.entries], found.validators
            plan.entry_dates = {e.url: e.updated for e in found.entries if e.updated}
            plan.entry_fingerprints = {e.url: e.fingerprint for e in found.entries if e.fingerprint}
        plan.announced = len(announced)
        known = store.known_urls(announced)
        stored = store.entry_versions(announced)
        # A stored entry the feed now dates otherwise, or says other things of with the same date.
        updated = [url for url in announced if url in stored and (
            (stored[url][0] and url in plan.entry_dates and stored[url][0] != plan.entry_dates[url])
            or (stored[url][1] and url in plan.entry_fingerprints and stored[url][1] != plan.entry_fingerprints[url]))]
        retry = store.urls_to_retry(source.name, max_attempts=run.settings.max_attempts)
        plan.todo = list(dict.fromkeys([u for u in announced if u not in known] + updated + retry))
        plan.page_validators = {url: cached[source.name][url] for url in updated if url in cached[source.name]}
        plan.site_memory = store.site_memories(plan.todo)
        plans.append(plan)
    log.info("%d sources: %d entries announced, %d pages to fetch", len(plans),
             sum(p.announced for p in plans), sum(len(p.todo) for p in plans))
    return plans


def collect(plan: Plan, *, fetch: FetchSettings, topics: list[Topic], pool: Executor | None = None,
            session: FetchSession | None = None) -> Harvest:
    """Fetch a plan's pages, extract and detect them: ``collect_plans`` for one source."""
    return collect_plans([plan], fetch=fetch, topics=topics, pool=pool, session=session)[0]


def collect_plans(plans: list[Plan], *, fetch: FetchSettings, topics: list[Topic], pool: Executor | None = None,
                  session: FetchSession | None = None, on_fetched: Callable[[str], None] | None = None,
                  archived: Mapping[str, tuple[str, int]] | None = None) -> list[Harvest]:
    """Fetch every plan's pages at once (over ``session``'s client when given), or read them from the
    WARC files where ``archived`` says ({URL: (file, offset)}); extract and detect them (in
    ``pool``'s processes when given); ``on_fetched(url)`` as each page comes in. Takes no store and
    no alert URL: it may run on another machine (a Dask worker)."""
    harvests = {plan.source: Harvest(plan) for plan in plans}
    source_of = {url: plan.source for plan in plans for url in plan.todo}
    validators = {url: v for plan in plans for url, v in plan.page_validators.items()}
    started = time.perf_counter()
    urls = list(source_of)
    if archived:
        results = [read_archived(*archived[url], max_bytes=fetch.max_bytes) for url in urls]
        for url in urls if on_fetched else ():
            on_fetched(url)
    elif session:
        results = session.fetch_pages(urls, validators=validators, on_result=on_fetched)
    else:
        results = fetch_pages(urls, fetch, validators=validators)
    pages = []
    for url, result in zip(urls, results, strict=True):
        harvest = harvests[source_of[url]]
        if isinstance(result, NotModified):
            continue  # an update announced by the feed, but the page itself has not changed
        if not isinstance(result, FetchedPage):
            harvest.failures.append((url, result.reason))
            continue
        if result.etag or result.last_modified:
            harvest.new_page_validators[result.url] = (result.etag, result.last_modified)
        pages.append(result)
    fetch_seconds = time.perf_counter() - started
    site_memory = {host: memory for plan in plans for host, memory in plan.site_memory.items()}
    analyses = (pool.map(analyse, pages, repeat(None), repeat(site_memory), chunksize=4) if pool
                else (analyse(page, topics, site_memory) for page in pages))
    for analysis in analyses:
        harvest = harvests[source_of[analysis.url]]
        harvest.seconds["extract"] += analysis.extract_seconds
        if analysis.error:
            harvest.failures.append((analysis.url, analysis.error))
            continue
        second_look = time.perf_counter()
        article = analysis.article
        detections = with_second_opinion(topics, analysis.detections, title=article.title, text=article.text)
        harvest.seconds["detect"] += analysis.detect_seconds + time.perf_counter() - second_look
        harvest.articles.append((article, detections))
    for harvest in harvests.values():
        harvest.seconds["fetch"] = fetch_seconds / len(harvests)
        log.info("%s: %d fetched, %d failed", harvest.plan.source, len(harvest.plan.todo), len(harvest.failures))
    return list(harvests.values())


def crashed_harvest(plan: Plan, error: BaseException) -> Harvest:
    """What a source yields when collecting it crashed (a bug, memory): each of its pages failed with
    the error. So the other sources are still stored, this one's health is recorded, and its pages
    are retried on later runs, up to NEWSWATCH_MAX_ATTEMPTS times: a page that crashes every run is
    not retried for ever."""
    log.error("%s: collecting its pages crashed: %s: %s", plan.source, type(error).__name__, error)
    harvest = Harvest(plan)
    reason = f"collecting the source crashed: {type(error).__name__}: {error}"
    harvest.failures = [(url, reason) for url in plan.todo]
    return harvest


def save_harvests(store: Store, harvests: list[Harvest], run: PreparedRun) -> RunSummary:
    """Store what the sources yielded: failures, articles (enqueueing alerts), entry dates, validators."""
    channels = [alerts.channel_for(url) for url in run.channel_urls()]
    summary = RunSummary(sources=len(harvests))
    started = time.perf_counter()
    for harvest in harvests:
        summary.seconds = add_seconds(summary.seconds, harvest.seconds)
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
        for article, detections in harvest.articles:
            saved = store.save_article(article, detections, source=plan.source, channels=channels)
            summary.fetched += 1
            summary.new += saved.status == "new"
            summary.revised += saved.status == "revised"
            summary.duplicates += saved.status == "duplicate"
            flagged = [d for d in detections if d.flagged] if saved.status in ("new", "revised") else []
            summary.flagged += bool(flagged)
            summary.flagged_stories += [{
                "story_id": saved.story_id, "topic": d.topic, "title": article.title, "url": article.url,
                "source": plan.source, "score": d.score, "state": d.state} for d in flagged]
        store.record_entry_versions(plan.entry_dates, plan.entry_fingerprints)
        store.save_validators(plan.source, {**plan.validators, **harvest.new_page_validators})
        if harvest.run_error:
            summary.failed_sources.append(plan.source)
    summary.seconds["store"] = time.perf_counter() - started
    if summary.flagged and not channels and run.alert_mode != "none":
        # Alerts are enqueued per channel when a story is flagged: without one, none is ever sent for it.
        log.warning("no alert channel: %d flagged stories are stored but alerted nowhere; give one with --alert, "
                    "NEWSWATCH_ALERT_URLS or the Secret block 'newswatch-alert-urls', or run with alert mode none",
                    summary.flagged)
    return summary


def record_source_health(store: Store, harvests: list[Harvest], run: PreparedRun) -> list[str]:
    """Record each source's run; tell the alert channels once when one goes dark or comes back.
    Returns the sources that are dark now."""
    dark_after = run.settings.dark_after
    dark = []
    for harvest in harvests:
        source = harvest.plan.source
        change = store.record_source_run(source, error=harvest.run_error, dark_after=dark_after)
        (health,) = store.source_health(source, dark_after=dark_after)
        if health["consecutive_failures"] >= dark_after:
            dark.append(source)
            log.warning("source %s is dark since %s: %s", source, health["dark_since"], health["last_error"])
        if change and alerts.send_source_notice(run.channel_urls(), change=change, health=health):
            store.source_notified(source, dark=change == "dark")
    return dark


def deliver(store: Store, run: PreparedRun, *, mode: str | None = None) -> alerts.Deliveries:
    """Send every due alert of the run's channels (one by one, or as a digest, with the report of
    the last ``digest_report_days`` attached when the settings ask); record each outcome."""
    with tempfile.TemporaryDirectory(prefix="newswatch-report-") as folder:
        report = partial(_write_report, store, run.settings, Path(folder)) if run.settings.digest_report_days else None
        outcome = alerts.deliver_pending(store, run.channel_urls(), mode=mode or run.alert_mode,
                                         digest_attachment=cache(report) if report else None)
    if outcome.failed or outcome.gave_up:
        log.warning("alerts: %d not delivered (retried later), %d given up after repeated failures",
                    outcome.failed, outcome.gave_up)
    return outcome


def _write_report(store: Store, settings: Settings, folder: Path) -> Path:
    """The HTML report of the last ``settings.digest_report_days`` days, written into ``folder``."""
    import reports  # jinja2 and feedgen: not for every process that imports the pipeline (extraction's)

    until = date.today()
    path = folder / f"newswatch-report-{until}.html"
    path.write_text(reports.html_report(store.stories(Filters(flagged=True)),
                                        store.source_health(dark_after=settings.dark_after),
                                        since=until - timedelta(days=settings.digest_report_days - 1), until=until),
                    encoding="utf-8")
    return path


def monitor_once(run: PreparedRun, store: Store) -> RunSummary:
    """One monitor run in this process, the sources one after another: the monitor flow's steps
    without Prefect (what the fast tests run; the flow collects sources concurrently as tasks)."""
    harvests = []
    for plan in plan_sources(run, store):
        try:
            harvests.append(collect(plan, fetch=run.fetch, topics=run.topics) if plan.todo else Harvest(plan))
        except Exception as exc:
            harvests.append(crashed_harvest(plan, exc))
    summary = save_harvests(store, harvests, run)
    summary.dark_sources = record_source_health(store, harvests, run)
    if run.alert_mode != "queue":
        summary.count_deliveries(deliver(store, run))
    return summary
