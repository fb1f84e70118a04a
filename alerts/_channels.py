from __future__ import annotations

import hashlib
import logging
from urllib.parse import urlsplit

import apprise

from storage import AlertChannel

# apprise's DEBUG lines can carry whole URLs; keep them out of any log.
logging.getLogger("apprise").setLevel(logging.WARNING)


def _without_urls(record: logging.LogRecord) -> bool:
    """apprise logs a URL it cannot read in full, secrets and all ("Unparseable URL slak://token…");
    newswatch reports that failure itself, with the URL masked, so such lines are dropped."""
    return "://" not in record.getMessage()


logging.getLogger("apprise").addFilter(_without_urls)


def mask_url(url: str) -> str:
    """The URL with every secret hidden, as apprise shows it; a bare scheme if apprise cannot read it."""
    notifier = apprise.Apprise()
    if notifier.add(url):
        return notifier.urls(privacy=True)[0]
    return f"{urlsplit(url).scheme or 'unknown'}://(unreadable URL)"


def channel_for(url: str) -> AlertChannel:
    """How the store knows a channel: a hash of its URL and a masked label, never the URL itself."""
    return AlertChannel(key=hashlib.sha256(url.encode()).hexdigest()[:32], label=mask_url(url))
