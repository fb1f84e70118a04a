"""The HTML report: one self-contained file (chart inline, no script, no CDN) of a period's flagged
stories, their state changes with evidence, the outlets that carried them, and the sources' health."""

from __future__ import annotations

from datetime import UTC, date, datetime
from importlib import resources

import jinja2

from ._changes import state_changes
from ._chart import STATE_COLOURS, period_of, stories_per_period_svg


def html_report(stories: list[dict], health: list[dict], *, since: date, until: date,
                topic_label: str | None = None) -> str:
    """The report of ``stories`` (Store.stories, flagged) whose state changed from ``since`` to
    ``until``, each with its whole timeline, and ``health`` (Store.source_health)."""
    changes = state_changes(stories, since=since, until=until)
    latest = {change.story["id"]: change.day for change in changes}  # changes come oldest first
    shown = sorted((story for story in stories if story["id"] in latest), key=lambda story: latest[story["id"]],
                   reverse=True)
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True,
                                     lstrip_blocks=True)
    template = environment.from_string(resources.files(__package__).joinpath("report.html.j2").read_text("utf-8"))
    return template.render(
        title=f"{topic_label or 'Flagged stories'}, {since.isoformat()} to {until.isoformat()}",
        stories=shown, changes=changes, health=health, colours=STATE_COLOURS,
        outlets=len({copy["outlet"] for story in shown for copy in story["carried_by"]}),
        chart=stories_per_period_svg(changes, since, until), period=period_of(since, until),
        generated=datetime.now(UTC).isoformat(timespec="minutes"))
