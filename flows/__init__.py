"""Prefect flows: orchestration only. Each task calls one stage's public functions."""

from ._steps import RunSummary
from .backfill import backfill
from .digest import digest
from .monitor import monitor

__all__ = ["RunSummary", "backfill", "digest", "monitor"]
