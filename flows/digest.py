"""The digest flow: every alert still due, as one message per channel."""

from __future__ import annotations

from prefect import flow
from pydantic import SecretStr

import alerts
from pipeline import load_settings, prepare_run
from storage import Store, run_lock

from ._tasks import alert_urls_from_block, deliver_alerts


@flow(name="newswatch", flow_run_name="digest", persist_result=False)
def digest(db_path: str | None = None, alert_urls: list[SecretStr] | None = None) -> alerts.Deliveries:
    """Send the alerts queued since the last digest (monitor runs with alert_mode "queue", and
    failed alerts whose backoff has passed) as one message per channel."""
    settings = load_settings(db_path=db_path, alert_urls=alert_urls)
    run = prepare_run(settings, alert_mode="digest", fallback_alert_urls=alert_urls_from_block,
                      reads_sources=False)
    # A digest waits for a monitor run in progress: that run's stories belong in this digest.
    with run_lock(settings.db, wait=None), Store(settings.db) as store:
        return deliver_alerts(store, run)
