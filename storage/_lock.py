from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout


class StoreBusy(Exception):
    """Another run holds the store's run lock."""


@contextmanager
def run_lock(db_path: str | Path, *, wait: float | None = None) -> Iterator[None]:
    """Hold the store's run lock (a file beside it): one run writes and delivers at a time, so two
    overlapping runs never send one alert twice. The operating system releases it when the holder
    dies, so a crashed run never blocks the next.

    wait: seconds to wait for the lock; None waits as long as it takes.

    Raises:
        StoreBusy: the lock was still held after ``wait`` seconds.
    """
    path = Path(db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(f"{path}.lock", thread_local=False)
    try:
        lock.acquire(timeout=-1 if wait is None else wait)
    except Timeout:
        raise StoreBusy(f"another newswatch run is using {path}") from None
    try:
        yield
    finally:
        lock.release()
