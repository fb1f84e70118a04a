"""Prefect flows: orchestration only. Each task calls one stage's public functions."""

from .monitor import RunSummary, monitor

__all__ = ["RunSummary", "monitor"]
