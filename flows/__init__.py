"""Prefect flows: orchestration only. Each task calls one stage's public functions."""

from ._dask import DaskUnavailable
from ._steps import ALERT_URLS_BLOCK, RunSummary, load_run_inputs
from .backfill import backfill, check_range
from .digest import digest
from .monitor import monitor

__all__ = ["ALERT_URLS_BLOCK", "DaskUnavailable", "RunSummary", "backfill", "check_range", "digest", "load_run_inputs",
           "monitor"]
