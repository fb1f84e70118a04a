"""The monitor flow: sources → new pages → articles → store → alerts, once."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.utilities.annotations import quote
from pydantic import SecretStr

import alerts
from newswatch.settings import Settings, load_settings
from sources import FetchSettings, Source, SourceError, discover_many
from storage import Store, StoreBusy, run_lock

from ._steps import (
    NETWORK_RETRIES,
    Harvest,
    Plan,
    RunSummary,
    alert_channels,
    collect_source,
    deliver_alerts,
    load_run_inputs,
    publish_report,
    store_harvests,
)


@task(name="discover-sources", cache_policy=NO_CACHE, persist_result=False, **NETWORK_RETRIES)
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
            plan.site_memory = store.site_memories(plan.todo)
            plans.append(plan)
    logger.info("%d sources: %d entries announced, %d pages to fetch", len(plans),
                sum(p.announced for p in plans), sum(len(p.todo) for p in plans))
    return plans


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


@flow(name="newswatch", flow_run_name="monitor", persist_result=False)
def monitor(sources_file: str | None = None, db_path: str | None = None,
            alert_urls: list[SecretStr] | None = None,
            alert_mode: Literal["each", "digest", "queue", "none"] = "each") -> RunSummary:
    """One monitor run over every source. Alert URLs come from ``alert_urls``, else
    NEWSWATCH_ALERT_URLS, else the Prefect Secret block "newswatch-alert-urls".

    alert_mode: "each" sends a message per story (a burst beyond the rate limit goes as one digest),
    "digest" one message per channel, "queue" keeps this run's alerts for the next digest flow run,
    "none" enqueues and sends nothing for this run's stories.

    One run at a time per store: a run that finds another one working waits NEWSWATCH_LOCK_WAIT
    seconds for it, then skips (the next run picks up what this one would have done).
    """
    settings = load_settings(db_path=db_path, sources_file=sources_file,
                             alert_urls=[u.get_secret_value() for u in alert_urls or []])
    try:
        with run_lock(settings.db_path, wait=settings.lock_wait):
            summary = _monitor_once(settings, alert_mode)
    except StoreBusy as exc:
        get_run_logger().warning("skipped: %s", exc)
        return RunSummary(skipped=str(exc))
    publish_report(summary, db_path=settings.db_path, flow="monitor")
    return summary


def _monitor_once(settings: Settings, alert_mode: str) -> RunSummary:
    channels = alert_channels(settings, alert_mode)
    sources, topics = load_run_inputs(settings)
    plans = discover_sources(sources, fetch=settings.fetch, db_path=settings.db_path,
                             max_attempts=settings.max_attempts)
    # One task per source with pages to fetch; a source with nothing new needs none.
    collecting = [collect_source.submit(plan, fetch=settings.fetch, topics=topics) for plan in plans if plan.todo]
    harvests = [future.result() for future in collecting] + [Harvest(plan) for plan in plans if not plan.todo]
    # Quoted: Prefect need not walk every article looking for futures (see the backfill flow).
    summary = store_harvests(quote(harvests), db_path=settings.db_path, alert_urls=channels)
    summary.dark_sources = report_source_health(quote(harvests), db_path=settings.db_path, alert_urls=channels,
                                                dark_after=settings.dark_after)
    if alert_mode != "queue":
        delivered = deliver_alerts(db_path=settings.db_path, alert_urls=channels, mode=alert_mode)
        summary.alerts_sent, summary.alerts_failed = delivered.sent, delivered.failed
        summary.alerts_gave_up = delivered.gave_up
    return summary
