"""A Dask cluster for the backfill's CPU-heavy work (the `dask` extra): past one machine."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from prefect.task_runners import TaskRunner

# Seconds to reach the scheduler, and to wait for its first worker, before the backfill gives up.
CONNECT_TIMEOUT = 10


class DaskUnavailable(RuntimeError):
    """The configured Dask cluster cannot take work: not installed, unreachable, or without workers."""


@contextmanager
def dask_cluster(address: str) -> Iterator[tuple[TaskRunner, int]]:
    """A Prefect task runner on the Dask scheduler at ``address``, and how many threads its workers run."""
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError as exc:
        raise DaskUnavailable(f"a Dask scheduler is configured ({address}), but prefect-dask is not installed: "
                              "pip install 'newswatch[dask]'") from exc
    with DaskTaskRunner(address=address, client_kwargs={"timeout": CONNECT_TIMEOUT}) as runner:
        try:
            client = runner.client
        except OSError as exc:
            raise DaskUnavailable(f"no Dask scheduler answers at {address}: {exc}") from exc
        try:
            client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
        except TimeoutError as exc:
            raise DaskUnavailable(f"the Dask scheduler at {address} has no workers") from exc
        yield runner, sum(client.nthreads().values())
