"""Flow runs a command started, found again by a tag, for when the command is stopped mid-run."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from prefect import tags
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType,
                                            FlowRunFilterTags)
from prefect.client.schemas.objects import StateType
from prefect.states import Crashed


def _tag() -> str:
    return f"newswatch-command-{os.getpid()}"


@contextmanager
def tagged_as_this_command() -> Iterator[None]:
    """Flow runs started inside carry a tag naming this process, for ``mark_crashed``."""
    with tags(_tag()):
        yield


def mark_crashed(message: str) -> None:
    """Record this process's unfinished flow runs as crashed, with ``message``: the process is about
    to leave without the engine's own bookkeeping."""
    unfinished = FlowRunFilterStateType(any_=[StateType.RUNNING, StateType.PENDING, StateType.SCHEDULED])
    with get_client(sync_client=True) as client:
        for run in client.read_flow_runs(flow_run_filter=FlowRunFilter(
                tags=FlowRunFilterTags(all_=[_tag()]), state=FlowRunFilterState(type=unfinished))):
            client.set_flow_run_state(run.id, Crashed(message=message), force=True)
