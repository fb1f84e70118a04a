"""Prefect flows: orchestration only. Each task calls one stage's public functions."""

from ._steps import ALERT_URLS_BLOCK, RunSummary
from .backfill import backfill
from .digest import digest
from .monitor import monitor

__all__ = ["ALERT_URLS_BLOCK", "RunSummary", "backfill", "digest", "monitor"]
