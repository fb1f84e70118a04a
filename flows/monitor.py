"""The monitor flow: sources → new pages → articles → store → alerts, once."""

from __future__ import annotations

from typing import Literal

from prefect import flow, get_run_logger
from prefect.utilities.annotations import quote
from pydantic import SecretStr

from pipeline import Harvest, Plan, RunSummary, crashed_harvest, load_settings, prepare_run
from sources import FetchSession
from storage import Store, StoreBusy, run_lock

from ._tasks import (
    alert_urls_from_block,
    collect_source,
    deliver_alerts,
    discover_sources,
    publish_report,
    report_source_health,
    store_harvests,
)


def _harvest(plan: Plan, outcome: Harvest | BaseException | None) -> Harvest:
    """A source's harvest: nothing to fetch, its task's result, or (its task failed after its
    retries) a failure of that source alone."""
    if outcome is None:
        return Harvest(plan)
    return crashed_harvest(plan, outcome) if isinstance(outcome, BaseException) else outcome


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
    settings = load_settings(db_path=db_path, sources_file=sources_file, alert_urls=alert_urls)
    run = prepare_run(settings, alert_mode=alert_mode, fallback_alert_urls=alert_urls_from_block)
    try:
        with run_lock(settings.db, wait=settings.lock_wait), Store(settings.db) as store:
            plans = discover_sources(run, store)
            # One task per source with pages to fetch (a source with nothing new needs none), all over
            # one HTTP client.
            with FetchSession(run.fetch) as session:
                collecting = {plan.source: collect_source.submit(plan, fetch=run.fetch, topics=run.topics,
                                                                 session=session)
                              for plan in plans if plan.todo}
                outcomes = {source: future.result(raise_on_failure=False) for source, future in collecting.items()}
            harvests = [_harvest(plan, outcomes.get(plan.source)) for plan in plans]
            # Quoted: Prefect need not walk every article looking for futures.
            summary = store_harvests(store, quote(harvests), run)
            summary.dark_sources = report_source_health(store, quote(harvests), run)
            if alert_mode != "queue":
                summary.count_deliveries(deliver_alerts(store, run))
            publish_report(summary, store, flow="monitor", dark_after=run.settings.dark_after)
    except StoreBusy as exc:
        get_run_logger().warning("skipped: %s", exc)
        return RunSummary(skipped=str(exc))
    return summary
