from __future__ import annotations

import logging

import apprise

from storage import PendingAlert

from ._channels import mask_url
from ._render import render_alert


class DeliveryError(Exception):
    """apprise could not deliver; the message says why, with the channel masked."""


def send_alert(url: str, alert: PendingAlert) -> None:
    """Send one alert to one apprise URL, or raise DeliveryError."""
    notifier = apprise.Apprise()
    if not notifier.add(url):
        raise DeliveryError(f"not a valid apprise URL: {mask_url(url)}")
    message = render_alert(alert)
    with apprise.LogCapture(level=logging.WARNING) as log:
        delivered = notifier.notify(title=message.title, body=message.body, body_format=apprise.NotifyFormat.TEXT)
    if not delivered:
        reason = " ".join(log.getvalue().split()) or "apprise reported a failure"
        raise DeliveryError(f"{mask_url(url)}: {reason}")
