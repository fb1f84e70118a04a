"""The digest flow: every alert still due, as one message per channel."""

from __future__ import annotations

from prefect import flow
from pydantic import SecretStr

import alerts
from newswatch.settings import load_settings
from storage import run_lock

from ._steps import alert_channels, deliver_alerts


@flow(name="newswatch", flow_run_name="digest", persist_result=False)
def digest(db_path: str | None = None, alert_urls: list[SecretStr] | None = None) -> alerts.Deliveries:
    """Send the alerts queued since the last digest (monitor runs with alert_mode "queue", and
    failed alerts whose backoff has passed) as one message per channel."""
    settings = load_settings(db_path=db_path, alert_urls=[u.get_secret_value() for u in alert_urls or []])
    # A digest waits for a monitor run in progress: that run's stories belong in this digest.
    with run_lock(settings.db_path, wait=None):
        return deliver_alerts(db_path=settings.db_path, alert_urls=alert_channels(settings, "digest"), mode="digest")
