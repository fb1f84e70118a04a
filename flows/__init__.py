"""Prefect flows: orchestration only. Each task calls one stage's public functions."""

from ._dask import DaskUnavailable
from ._steps import ALERT_URLS_BLOCK, RunSummary
from .backfill import backfill
from .digest import digest
from .monitor import monitor

__all__ = ["ALERT_URLS_BLOCK", "DaskUnavailable", "RunSummary", "backfill", "digest", "monitor"]
