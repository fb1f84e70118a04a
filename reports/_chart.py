"""Stories per day (week, month) by state, as a stacked bar chart in SVG (matplotlib), to inline in a report."""

from __future__ import annotations

import io
from collections import Counter
from datetime import date, timedelta
from itertools import cycle

from ._changes import StateChange

# One colour per state a topic names (the seeds' states), others from the cycle; "flagged": no state found.
STATE_COLOURS = {"proposed": "#9ecae1", "scheduled": "#3182bd", "held or ongoing": "#31a354", "agreed": "#006d2c",
                 "stalled or postponed": "#fd8d3c", "rejected or denied": "#de2d26", "flagged": "#969696"}
EXTRA_COLOURS = ["#756bb1", "#e7ba52", "#8c6d31", "#d6616b", "#7b4173"]


def period_of(since: date, until: date) -> str:
    """The bar a chart of this range draws: a day up to four months, a week up to three years, else a month."""
    days = (until - since).days + 1
    return "day" if days <= 120 else "week" if days <= 3 * 366 else "month"


def _bar_start(day: date, period: str) -> date:
    if period == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1) if period == "month" else day


def stories_per_period_svg(changes: list[StateChange], since: date, until: date) -> str:
    """An SVG chart: for each day (or week, or month: period_of) from ``since`` to ``until``, how many
    stories reached each state (a story's first flagging included); text stays text, so the chart
    can be searched and read."""
    import matplotlib

    matplotlib.use("Agg")  # no display: files only
    import matplotlib.pyplot as plt
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    period = period_of(since, until)
    days = sorted({_bar_start(since + timedelta(days=n), period) for n in range((until - since).days + 1)})
    counts = Counter((_bar_start(date.fromisoformat(change.day), period), change.state or "flagged")
                     for change in changes)
    states = sorted({state for _, state in counts}, key=lambda s: (list(STATE_COLOURS).index(s)
                                                                     if s in STATE_COLOURS else len(STATE_COLOURS), s))
    extra = cycle(EXTRA_COLOURS)
    with matplotlib.rc_context({"svg.fonttype": "none", "font.size": 9, "svg.hashsalt": "newswatch"}):
        figure, axes = plt.subplots(figsize=(9, 3))
        bottom = [0] * len(days)
        for state in states:
            heights = [counts[(day, state)] for day in days]
            axes.bar(days, heights, bottom=bottom, width={"day": 0.8, "week": 5.6, "month": 24}[period], label=state,
                     color=STATE_COLOURS.get(state) or next(extra))
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
        locator = AutoDateLocator(maxticks=10)
        axes.xaxis.set_major_locator(locator)
        axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))
        axes.yaxis.get_major_locator().set_params(integer=True)
        axes.set_ylabel("stories")
        axes.spines[["top", "right"]].set_visible(False)
        if states:
            axes.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1, 1))
        else:
            axes.text(0.5, 0.5, "no state changes in this period", transform=axes.transAxes, ha="center")
        figure.tight_layout()
        out = io.StringIO()
        figure.savefig(out, format="svg", metadata={"Date": None})
        plt.close(figure)
    svg = out.getvalue()
    return svg[svg.index("<svg"):]  # inline: no XML declaration or doctype
