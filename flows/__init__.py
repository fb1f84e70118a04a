"""Prefect flows: orchestration only. Each task calls one step of the pipeline package."""

import logging

from prefect.context import FlowRunContext, TaskRunContext
from prefect.logging.handlers import APILogHandler

from ._dask import DaskUnavailable
from ._interrupt import mark_crashed, tagged_as_this_command
from ._tasks import ALERT_URLS_BLOCK
from .backfill import backfill
from .digest import digest
from .monitor import monitor



def _in_a_run(record: logging.LogRecord) -> bool:
    return FlowRunContext.get() is not None or TaskRunContext.get() is not None


# The pipeline logs with the standard library; within a flow run, its records go to the Prefect API too.
_pipeline_log = logging.getLogger("newswatch")
_pipeline_log.setLevel(logging.INFO)
if not any(isinstance(handler, APILogHandler) for handler in _pipeline_log.handlers):
    _to_api = APILogHandler()
    _to_api.addFilter(_in_a_run)
    _pipeline_log.addHandler(_to_api)

__all__ = ["ALERT_URLS_BLOCK", "DaskUnavailable", "backfill", "digest", "mark_crashed", "monitor",
           "tagged_as_this_command"]
