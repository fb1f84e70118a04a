"""Alert channels as the user writes them (an apprise URL, optionally after its mode), and as the
store and logs show them: a hash and a label with every secret masked."""

from __future__ import annotations

import hashlib
import logging
import re
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import apprise

from storage import AlertChannel

# apprise's DEBUG lines can carry whole URLs, and those of urllib3 (under apprise's HTTP requests) a
# webhook's path and query, tokens and all: keep them out of any log.
logging.getLogger("apprise").setLevel(logging.WARNING)
logging.getLogger("urllib3").setLevel(logging.ERROR)


def _without_urls(record: logging.LogRecord) -> bool:
    """apprise logs a URL it cannot read in full, secrets and all ("Unparseable URL slak://token…");
    newswatch reports that failure itself, with the URL masked, so such lines are dropped."""
    return "://" not in record.getMessage()


logging.getLogger("apprise").addFilter(_without_urls)

# What a channel is told (storage.AlertChannel.mode): a channel written "digest:mailtos://..." gets
# digests; one with no mode, new stories and their state changes one message each.
CHANNEL_MODES = ("each", "state", "digest")
DEFAULT_CHANNEL_MODE = "state"
_MODE_PREFIX = re.compile(rf"({'|'.join(CHANNEL_MODES)}):(?!//)")
# A word and a colon before a URL: a mode, or a mistyped one ("weekly:mailtos://...").
_ANY_PREFIX = re.compile(r"([A-Za-z]+):(?!//)(?=[A-Za-z0-9+.-]+://)")
# Webhook schemes whose secrets sit where apprise does not mask them: the path, a header
# ("+X-Token=..."), a query parameter ("-token=...") or a payload entry (":key=...").
_WEBHOOK_SCHEMES = {"json", "jsons", "form", "forms", "xml", "xmls"}
_SECRET_PARAM_MARKS = ("+", "-", ":")
MASK = "****"


def split_channel(spec: str) -> tuple[str, str]:
    """(mode, apprise URL) of a channel as written: "digest:mailtos://..." or a bare apprise URL.
    ValueError for a word before the URL that is no mode."""
    found = _MODE_PREFIX.match(spec)
    if found:
        return found.group(1), spec[found.end():]
    if other := _ANY_PREFIX.match(spec):
        raise ValueError(f"{other.group(1)!r} before the URL is no channel mode: write {', '.join(CHANNEL_MODES)} "
                         "and a colon, or nothing")
    return DEFAULT_CHANNEL_MODE, spec


def mask_url(spec: str) -> str:
    """The channel with every secret hidden: apprise's masked URL, and for webhooks (json, form,
    xml) their path and the values of their headers, parameters and payload entries too; a bare
    scheme if apprise cannot read it. A mode written before the URL stays."""
    try:
        mode, url = split_channel(spec)
    except ValueError:
        return f"{spec.split(':', 1)[0]}:(unreadable URL)"
    prefix = f"{mode}:" if url != spec else ""
    notifier = apprise.Apprise()
    if not notifier.add(url):
        return f"{prefix}{urlsplit(url).scheme or 'unknown'}://(unreadable URL)"
    masked = notifier.urls(privacy=True)[0]
    parts = urlsplit(masked)
    if parts.scheme.lower() in _WEBHOOK_SCHEMES:
        path = "/".join(MASK if segment else "" for segment in parts.path.split("/"))
        query = [(key, MASK if key.startswith(_SECRET_PARAM_MARKS) else value)
                 for key, value in parse_qsl(parts.query, keep_blank_values=True)]
        masked = parts._replace(path=path, query=urlencode(query, quote_via=quote, safe="*")).geturl()
    return prefix + masked


def channel_for(spec: str) -> AlertChannel:
    """How the store knows a channel: a hash of its URL (its mode apart: changing the mode keeps the
    channel and what it was sent) and a masked label, never the URL itself."""
    mode, url = split_channel(spec)
    return AlertChannel(key=hashlib.sha256(url.encode()).hexdigest()[:32], label=mask_url(url), mode=mode)
