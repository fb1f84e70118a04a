"""Reading what newswatch found, for people and feed readers: an Atom feed of flagged stories'
state changes, and an HTML report of a period with a chart (built on the store's listings)."""

from ._changes import StateChange, state_changes
from ._feed import atom_feed
from ._report import html_report

__all__ = ["StateChange", "atom_feed", "html_report", "state_changes"]
