from __future__ import annotations

from dataclasses import dataclass

from storage import PendingAlert

MAX_EVIDENCE = 3


@dataclass(frozen=True)
class Message:
    title: str
    body: str


def render_alert(alert: PendingAlert) -> Message:
    """A plain-text alert: headline, outlet and date, state, evidence sentences, link."""
    headline = alert.title or alert.url
    meta = " · ".join(part for part in (alert.outlet, alert.published) if part)
    lines = [headline]
    if meta:
        lines.append(meta)
    lines.append(f"State: {alert.state or 'not stated'} · score {alert.score:.2f}")
    if alert.evidence:
        lines += ["", "Evidence:"] + [f"“{sentence}”" for sentence in alert.evidence[:MAX_EVIDENCE]]
    lines += ["", alert.url]
    return Message(title=f"[newswatch] {headline}", body="\n".join(lines))
