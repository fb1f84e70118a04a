"""Alert messages shaped for each kind of channel, with every piece of article text escaped for it
and cut to lengths every channel accepts."""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from itertools import groupby
from urllib.parse import quote

from babel import Locale, UnknownLocaleError

from storage import PendingAlert

MAX_EVIDENCE = 3
# Slack's header block holds 150 characters, and a subject line of one unbroken word over 998
# cannot be folded (email then fails): a title is cut to 150. A quote is cut to 500, so that three
# fit one Slack section (3,000); "also reported by" names 10 outlets at most.
MAX_TITLE = 150
MAX_QUOTE = 500
MAX_OUTLETS = 10
SLACK_SECTION = 3000


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    # How apprise should read the body: "text", "html" or "markdown".
    body_format: str
    # For a Slack template (alerts/slack_alert.json): the value of each of its {{tokens}}.
    slack_blocks: dict[str, str] = field(default_factory=dict)


def shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, an ellipsis marking the cut."""
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


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


def _html_link(url: str, text: str) -> str:
    target = link_url(url)
    return f'<a href="{html.escape(target)}">{html.escape(text)}</a>' if target else html.escape(f"{text} ({url})")


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


@dataclass(frozen=True)
class _Facts:
    """What every rendering of one alert says, cut to length."""

    title: str
    headline: str
    meta: str
    state: str
    evidence: list[str]
    also: list[dict]
    more_outlets: int


def _state_line(alert: PendingAlert) -> str:
    was = f" (was: {alert.previous_state or 'state not stated'})" if alert.kind == "state" else ""
    return f"{alert.state or 'state not stated'}{was} · score {alert.score:.2f}"


def _facts(alert: PendingAlert) -> _Facts:
    headline = alert.title or alert.url
    prefix = f"[{alert.topic_label or alert.topic or 'newswatch'} · {alert.state or 'state not stated'}] "
    # The headline is shown anyway; quote the body, the sentence that moved the state first.
    quotes = [s for s in alert.evidence if s != alert.title] or alert.evidence[:1]
    if alert.state_sentence and alert.state_sentence != alert.title:
        quotes = [alert.state_sentence] + [s for s in quotes if s != alert.state_sentence]
    return _Facts(
        title=prefix + shorten(headline, MAX_TITLE - len(prefix)),
        headline=shorten(headline, MAX_TITLE),
        meta=" · ".join(part for part in (alert.outlet, alert.published, language_name(alert.language)) if part),
        state=_state_line(alert),
        evidence=[shorten(s, MAX_QUOTE) for s in quotes[:MAX_EVIDENCE]],
        also=[{**o, "outlet": shorten(o["outlet"] or "", 80)} for o in alert.also_reported_by[:MAX_OUTLETS]],
        more_outlets=max(0, len(alert.also_reported_by) - MAX_OUTLETS),
    )


def language_name(code: str | None) -> str | None:
    """The English name of a language code ("fa": "Persian"); the code itself when babel knows none."""
    if not code:
        return None
    try:
        return Locale.parse(code).get_display_name("en")
    except (ValueError, UnknownLocaleError):
        return code


def _more(facts: _Facts) -> str:
    return f" and {facts.more_outlets} more" if facts.more_outlets else ""


def payload(alert: PendingAlert) -> dict:
    """The alert as the JSON channel carries it (docs/alerts.md): its quotes as the other channels
    show them (the sentence that moved the state first, at most three, cut to 500 characters)."""
    return {
        "topic": alert.topic, "topic_label": alert.topic_label, "story_id": alert.story_id, "kind": alert.kind,
        "state": alert.state, "previous_state": alert.previous_state, "title": alert.title, "url": alert.url,
        "outlet": alert.outlet, "published": alert.published, "language": alert.language, "score": alert.score,
        "evidence": _facts(alert).evidence, "state_sentence": alert.state_sentence,
        "also_reported_by": alert.also_reported_by,
    }


def render_alert(alert: PendingAlert, *, style: str = "text") -> Message:
    """The alert as a message for a channel style: "email" (HTML, and apprise's plain-text part),
    "slack" (Block Kit sections), "json" (the payload) or "text"."""
    facts = _facts(alert)
    if style == "json":
        return Message(facts.title, json.dumps({"alerts": [payload(alert)]}, ensure_ascii=False), "text")
    if style == "email":
        esc = html.escape
        # dir="auto": a quote or headline in Persian or Arabic reads right to left.
        quotes = "".join(f"<p dir=\"auto\">“{_mark(s, alert.matched, esc, '<b>', '</b>')}”</p>" for s in facts.evidence)
        # Each link also in the text: the plain-text part apprise makes of the HTML keeps no href.
        also = "".join(f"<br>{esc(o['outlet'])}: {_html_link(o['url'], o['url'])}" for o in facts.also)
        body = (f"<h2 dir=\"auto\">{_html_link(alert.url, facts.headline)}</h2>"
                + (f"<p>{esc(facts.meta)}</p>" if facts.meta else "")
                + f"<p>State: {esc(facts.state)}</p>{quotes}"
                + (f"<p>Also reported by:{also}{esc(_more(facts))}</p>" if facts.also else "")
                + f"<p>{_html_link(alert.url, alert.url)}</p>")
        return Message(facts.title, body, "html")
    if style == "slack":
        evidence = "\n".join(f"> {_mark(s, alert.matched, _slack_escape, '*', '*')}" for s in facts.evidence)
        outlets = ", ".join(_slack_link(o["url"], o["outlet"]) for o in facts.also) + _more(facts)
        blocks = {
            "headline": f"*{_slack_link(alert.url, facts.headline)}*"
                        + (f"\n{_slack_escape(facts.meta)}" if facts.meta else ""),
            "state": f"*State:* {_slack_escape(facts.state)}",
            "evidence": evidence or "_no quote_",
            "outlets": f"Also reported by: {outlets}" if facts.also else "Reported by this outlet alone so far",
        }
        return Message(facts.title, "\n".join(blocks.values()), "markdown", slack_blocks=blocks)
    lines = [facts.headline] + ([facts.meta] if facts.meta else []) + [f"State: {facts.state}", ""]
    lines += [f"“{s}”" for s in facts.evidence]
    lines += ["Also reported by:"] + [f"  {o['outlet']}: {o['url']}" for o in facts.also] if facts.also else []
    lines += [f"  {_more(facts).strip()}"] if facts.more_outlets else []
    return Message(facts.title, "\n".join(lines + ["", alert.url]), "text")


def _stories(pending: list[PendingAlert]) -> list[list[PendingAlert]]:
    """The alerts grouped by story and topic, newest change first within each, the story with the
    newest change first."""
    key = lambda alert: (alert.story_id, alert.topic or "")  # noqa: E731
    groups = [sorted(group, key=lambda a: -a.alert_id) for _, group in groupby(sorted(pending, key=key), key)]
    return sorted(groups, key=lambda group: -group[0].alert_id)


def _digest_title(groups: list[list[PendingAlert]]) -> str:
    new = sum(any(a.kind == "new" for a in group) for group in groups)
    moved = len(groups) - new
    if not moved:
        return f"[newswatch] {new} new stories"
    return f"[newswatch] {len(groups)} stories: {new} new, {moved} with a new state"


def _history(group: list[PendingAlert]) -> str:
    """The states a digest reports for one story, newest first: "held ← scheduled ← proposed"."""
    states = [a.state or "state not stated" for a in group]
    first = group[-1]
    if first.kind == "state":
        states.append(first.previous_state or "state not stated")
    return " ← ".join(dict.fromkeys(states))


def render_digest(pending: list[PendingAlert], *, style: str = "text") -> Message:
    """One message for several alerts, grouped by story: headline (linked), topic, states newest
    first, outlet and date, the newest evidence quote, the other outlets."""
    groups = _stories(pending)
    title = _digest_title(groups)
    items = [(group[0], _facts(group[0]), _history(group)) for group in groups]
    if style == "json":
        return Message(title, json.dumps({"alerts": [payload(a) for a in pending]}, ensure_ascii=False), "text")
    if style == "email":
        esc = html.escape
        rows = "".join(
            f"<li>{_html_link(alert.url, facts.headline)} — {esc(alert.topic_label or alert.topic or '')}: "
            f"{esc(history)} — {esc(facts.meta)}"
            + (f"<br>“{esc(facts.evidence[0])}”" if facts.evidence else "")
            + "".join(f"<br>Also: {esc(o['outlet'])}: {_html_link(o['url'], o['url'])}" for o in facts.also)
            + esc(_more(facts)) + "</li>"
            for alert, facts, history in items)
        return Message(title, f"<ul>{rows}</ul>", "html")
    if style == "slack":
        lines = [f"• *{_slack_link(alert.url, facts.headline)}* — {_slack_escape(history)} — "
                 f"{_slack_escape(facts.meta)}" for alert, facts, history in items]
        return Message(title, _within(lines, SLACK_SECTION), "markdown")
    lines = [f"- {facts.headline} — {alert.topic_label or alert.topic or ''}: {history} — {facts.meta}\n  {alert.url}"
             for alert, facts, history in items]
    return Message(title, "\n".join(lines), "text")


def _within(lines: list[str], limit: int) -> str:
    """As many of ``lines`` as fit in ``limit`` characters, and how many did not."""
    kept, size = [], 0
    for line in lines:
        if size + len(line) + 60 > limit:
            return "\n".join(kept + [f"… and {len(lines) - len(kept)} more stories (`newswatch stories`)"])
        kept.append(line)
        size += len(line) + 1
    return "\n".join(kept)
