"""Alert messages shaped for each kind of channel, with every piece of article text escaped for it."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from urllib.parse import quote

from storage import PendingAlert

MAX_EVIDENCE = 3


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    # How apprise should read the body: "text", "html" or "markdown".
    body_format: str


def _slack_escape(text: str) -> str:
    # Slack's mrkdwn reads only these three as markup; everything else is literal.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# What may stay as it is in a link's URL; anything else ("<", ">", "|", quotes, spaces, brackets
# of markdown) is percent-encoded, so a URL cannot close the link it sits in and add markup.
_URL_SAFE = ":/?#@!$&'*+,;=%~"


def link_url(url: str) -> str | None:
    """An article URL fit to put in a link, or None when it is no http(s) URL."""
    if not url.lower().startswith(("http://", "https://")):
        return None
    return quote(url, safe=_URL_SAFE)


def _slack_link(url: str, text: str) -> str:
    target = link_url(url)
    return f"<{_slack_escape(target)}|{_slack_escape(text)}>" if target else _slack_escape(f"{text} ({url})")


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~>-])")


def markdown_text(value: object) -> str:
    """Text for a markdown table cell or link: no HTML, no markdown, on one line."""
    text = html.escape(str(value if value is not None else ""), quote=False).replace("\n", " ")
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def markdown_link(url: str, text: str) -> str:
    target = link_url(url)
    return f"[{markdown_text(text)}]({target})" if target else markdown_text(f"{text} ({url})")


def _mark(text: str, words: list[str], escape, before: str, after: str) -> str:
    """Escape ``text`` for the channel and wrap each matched word in ``before``/``after``."""
    if not words:
        return escape(text)
    pattern = re.compile(r"(?<!\w)(" + "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))
                         + r")(?!\w)", re.IGNORECASE)
    out, last = [], 0
    for match in pattern.finditer(text):
        out += [escape(text[last:match.start()]), before, escape(match.group()), after]
        last = match.end()
    return "".join(out + [escape(text[last:])])


def _facts(alert: PendingAlert) -> tuple[str, str, str, list[str]]:
    headline = alert.title or alert.url
    meta = " · ".join(part for part in (alert.outlet, alert.published) if part)
    state = f"{alert.state or 'state not stated'} · score {alert.score:.2f}"
    # The headline is shown anyway; quote the sentences of the body.
    evidence = [s for s in alert.evidence if s != alert.title][:MAX_EVIDENCE] or alert.evidence[:1]
    return headline, meta, state, evidence


def render_alert(alert: PendingAlert, *, style: str = "text") -> Message:
    """The alert as a message for a channel style: "email" (HTML), "slack" (mrkdwn blocks) or "text"."""
    headline, meta, state, evidence = _facts(alert)
    title = f"[newswatch] {headline}"
    also = f"Also reported by: {', '.join(alert.also_reported_by)}" if alert.also_reported_by else ""
    if style == "email":
        esc = html.escape
        quotes = "".join(f"<blockquote>{_mark(s, alert.matched, esc, '<mark>', '</mark>')}</blockquote>"
                         for s in evidence)
        body = (f'<h2><a href="{esc(alert.url)}">{esc(headline)}</a></h2>'
                + (f"<p>{esc(meta)}</p>" if meta else "")
                + f"<p><b>State:</b> {esc(state)}</p>{quotes}"
                + (f"<p>{esc(also)}</p>" if also else "")
                + f'<p><a href="{esc(alert.url)}">{esc(alert.url)}</a></p>')
        return Message(title, body, "html")
    if style == "slack":
        lines = [f"*{_slack_link(alert.url, headline)}*"]
        lines += [_slack_escape(meta)] if meta else []
        lines += [f"*State:* {_slack_escape(state)}"]
        lines += [f"> {_mark(s, alert.matched, _slack_escape, '*', '*')}" for s in evidence]
        lines += [_slack_escape(also)] if also else []
        return Message(title, "\n".join(lines), "markdown")
    lines = [headline] + ([meta] if meta else []) + [f"State: {state}", ""]
    lines += [f"“{s}”" for s in evidence] + ([also] if also else []) + ["", alert.url]
    return Message(title, "\n".join(lines), "text")


def render_digest(pending: list[PendingAlert], *, style: str = "text") -> Message:
    """One message listing several stories: headline (linked), outlet and date, state."""
    title = f"[newswatch] {len(pending)} new stories"
    items = [(_facts(alert), alert.url) for alert in pending]
    if style == "email":
        esc = html.escape
        rows = "".join(f'<li><a href="{esc(url)}">{esc(headline)}</a> — {esc(meta)} — {esc(state)}</li>'
                       for (headline, meta, state, _), url in items)
        return Message(title, f"<ul>{rows}</ul>", "html")
    if style == "slack":
        lines = [f"• *{_slack_link(url, headline)}* — {_slack_escape(meta)} — {_slack_escape(state)}"
                 for (headline, meta, state, _), url in items]
        return Message(title, "\n".join(lines), "markdown")
    lines = [f"- {headline} — {meta} — {state}\n  {url}" for (headline, meta, state, _), url in items]
    return Message(title, "\n".join(lines), "text")
