from __future__ import annotations

import logging

import apprise

from storage import PendingAlert

from ._channels import mask_url
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
