from __future__ import annotations

import logging

import apprise

from dataclasses import dataclass

from storage import PendingAlert, Store

from ._channels import channel_for, mask_url
from ._render import render_alert


class DeliveryError(Exception):
    """apprise could not deliver; the message says why, with the channel masked."""


_FORMATS = {"text": apprise.NotifyFormat.TEXT, "html": apprise.NotifyFormat.HTML,
            "markdown": apprise.NotifyFormat.MARKDOWN}


def channel_style(url: str) -> str:
    """How messages are shaped for a channel: email gets HTML, Slack gets blocks, the rest text."""
    scheme = url.split("://", 1)[0].lower()
    return {"mailto": "email", "mailtos": "email", "slack": "slack"}.get(scheme, "text")


def send_alert(url: str, alert: PendingAlert) -> None:
    """Send one alert to one apprise URL, shaped for its channel, or raise DeliveryError."""
    style = channel_style(url)
    if style == "slack" and "blocks=" not in url:
        url += ("&" if "?" in url else "?") + "blocks=yes"  # Block Kit, unless the URL says otherwise
    notifier = apprise.Apprise()
    if not notifier.add(url):
        raise DeliveryError(f"not a valid apprise URL: {mask_url(url)}")
    message = render_alert(alert, style=style)
    with apprise.LogCapture(level=logging.WARNING) as log:
        delivered = notifier.notify(title=message.title, body=message.body, body_format=_FORMATS[message.body_format])
    if not delivered:
        reason = " ".join(log.getvalue().split()) or "apprise reported a failure"
        raise DeliveryError(f"{mask_url(url)}: {reason}")


def send_test_message(url: str) -> None:
    """Send a short test message to one apprise URL, so that a user can check a channel."""
    notifier = apprise.Apprise()
    if not notifier.add(url):
        raise DeliveryError(f"not a valid apprise URL: {mask_url(url)}")
    with apprise.LogCapture(level=logging.WARNING) as log:
        delivered = notifier.notify(title="[newswatch] test message",
                                    body="This channel receives newswatch alerts.")
    if not delivered:
        raise DeliveryError(f"{mask_url(url)}: {' '.join(log.getvalue().split()) or 'apprise reported a failure'}")


@dataclass
class Deliveries:
    sent: int = 0
    failed: int = 0
    gave_up: int = 0


def deliver_pending(store: Store, urls: list[str]) -> Deliveries:
    """Send every due alert of these channels and record each outcome in the store.

    A failed alert is tried again on a later call once its backoff has passed, and given up after
    the store's attempt limit. An alert sent but not yet recorded when the process dies is sent
    again on the next call: at most one duplicate, never a loss.
    """
    by_key = {channel_for(url).key: url for url in urls}
    outcome = Deliveries()
    for pending in store.pending_alerts(by_key):
        try:
            send_alert(by_key[pending.channel], pending)
        except DeliveryError as exc:
            if store.mark_alert_failed(pending.alert_id, str(exc)) == "gave up":
                outcome.gave_up += 1
            else:
                outcome.failed += 1
        else:
            store.mark_alert_sent(pending.alert_id)
            outcome.sent += 1
    return outcome
