from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote, urlencode

import apprise

from storage import PendingAlert, Store

from ._channels import channel_for, mask_url, split_channel
from ._render import Message, render_alert, render_digest

# Beyond this many alerts in the window, a channel gets the rest as one digest: no alert storms.
RATE_LIMIT = 10
RATE_WINDOW = timedelta(hours=1)


class DeliveryError(Exception):
    """apprise could not deliver; the message says why, with the channel masked."""


_FORMATS = {"text": apprise.NotifyFormat.TEXT, "html": apprise.NotifyFormat.HTML,
            "markdown": apprise.NotifyFormat.MARKDOWN}


# The Block Kit layout of one alert in Slack: apprise fills its {{tokens}} (Message.slack_blocks).
SLACK_TEMPLATE = Path(__file__).with_name("slack_alert.json")


_STYLES = {"mailto": "email", "mailtos": "email", "slack": "slack", "json": "json", "jsons": "json"}


def channel_style(url: str) -> str:
    """How messages are shaped for a channel: email gets HTML, Slack gets blocks, a JSON webhook
    the alerts' fields, the rest text."""
    scheme = split_channel(url)[1].split("://", 1)[0].lower()
    return _STYLES.get(scheme, "text")


def check_url(spec: str) -> None:
    """Raise DeliveryError unless apprise can read the channel's URL: a typo is found before alerts
    are queued for a channel that can never take them."""
    try:
        url = split_channel(spec)[1]
    except ValueError as exc:
        raise DeliveryError(str(exc)) from None
    _notifier(url)


def _notifier(url: str) -> apprise.Apprise:
    notifier = apprise.Apprise()
    if not notifier.add(url):
        raise DeliveryError(f"not a valid apprise URL: {mask_url(url)}")
    return notifier


def _send(spec: str, message: Message, attachment: Path | None = None) -> None:
    url = split_channel(spec)[1]
    notifier = _notifier(_shaped(url, message))
    with apprise.LogCapture(level=logging.WARNING) as log:
        delivered = notifier.notify(title=message.title, body=message.body, body_format=_FORMATS[message.body_format],
                                    attach=str(attachment) if attachment else None)
    if not delivered:
        reason = " ".join(log.getvalue().split()) or "apprise reported a failure"
        raise DeliveryError(f"{mask_url(url)}: {reason}")


def _shaped(url: str, message: Message) -> str:
    """The URL with what apprise needs to shape this message: for Slack, Block Kit (unless the URL
    says otherwise) and, for one alert, the template and its tokens (apprise's ":token=value")."""
    if channel_style(url) != "slack" or "blocks=no" in url:
        return url
    extra = {} if "blocks=" in url else {"blocks": "yes"}
    if message.slack_blocks:
        extra |= {"template": str(SLACK_TEMPLATE)} | {f":{name}": value for name, value in message.slack_blocks.items()}
    return url + ("&" if "?" in url else "?") + urlencode(extra, quote_via=quote) if extra else url


def send_alert(spec: str, alert: PendingAlert) -> None:
    """Send one alert to one channel, shaped for it, or raise DeliveryError."""
    _send(spec, render_alert(alert, style=channel_style(spec)))


def send_digest(spec: str, pending: list[PendingAlert], attachment: Path | None = None) -> None:
    """Send several alerts as one message, grouped by story (with a file attached, where the
    channel takes files), or raise DeliveryError."""
    _send(spec, render_digest(pending, style=channel_style(spec)), attachment)


def send_test_message(spec: str) -> None:
    """Send a short test message to one channel, so that a user can check it."""
    _send(spec, Message("[newswatch] test message", "This channel receives newswatch alerts.", "text"))


def send_source_notice(urls: list[str], *, change: str, health: dict) -> int:
    """Tell every channel that a source went dark (``change`` "dark") or came back ("recovered").
    ``health`` is the source's row of the store's source health. Returns how many channels got it."""
    source = health["source"]
    if change == "dark":
        message = Message(f"[newswatch] source {source} is dark since {health['dark_since']}",
                          f"{source} has failed {health['consecutive_failures']} runs in a row.\n"
                          f"Last error: {health['last_error']}", "text")
    else:
        message = Message(f"[newswatch] source {source} is back", f"{source} worked again this run.", "text")
    reached = 0
    for url in urls:
        try:
            _send(url, message)
        except DeliveryError:
            continue
        reached += 1
    return reached


@dataclass
class Deliveries:
    sent: int = 0
    failed: int = 0
    gave_up: int = 0


def deliver_pending(store: Store, urls: list[str], *, mode: str = "each", rate_limit: int = RATE_LIMIT,
                    rate_window: timedelta = RATE_WINDOW,
                    digest_attachment: Callable[[], Path] | None = None) -> Deliveries:
    """Send every due alert of these channels and record each outcome in the store.

    ``mode`` "each" sends one message per alert, but no more than ``rate_limit`` per channel in
    ``rate_window``: the rest go out together as one digest. "digest" sends one message per channel,
    as does a channel of mode "digest" whatever ``mode`` is. ``digest_attachment`` makes the file a
    digest message carries (called once a digest is sent, not before).
    A failed alert is tried again on a later call once its backoff has passed, and given up after
    the store's attempt limit. An alert sent but not yet recorded when the process dies is sent
    again on the next call: at most one duplicate, never a loss.
    """
    channels = {channel_for(spec).key: (spec, channel_for(spec)) for spec in urls}
    by_channel: dict[str, list[PendingAlert]] = {}
    for pending in store.pending_alerts(channels):
        by_channel.setdefault(pending.channel, []).append(pending)
    outcome = Deliveries()
    for key, pending in by_channel.items():
        spec, channel = channels[key]
        digest = "digest" in (mode, channel.mode)
        room = 0 if digest else max(0, rate_limit - store.alerts_sent_since(key, rate_window))
        batches = [[alert] for alert in pending[:room]] + ([pending[room:]] if pending[room:] else [])
        for batch in batches:
            try:
                if len(batch) == 1 and not digest:
                    send_alert(spec, batch[0])
                else:
                    send_digest(spec, batch, digest_attachment() if digest_attachment else None)
            except DeliveryError as exc:
                for alert in batch:
                    if store.mark_alert_failed(alert.alert_id, str(exc)) == "gave up":
                        outcome.gave_up += 1
                    else:
                        outcome.failed += 1
            else:
                for alert in batch:
                    store.mark_alert_sent(alert.alert_id)
                outcome.sent += len(batch)
    return outcome
