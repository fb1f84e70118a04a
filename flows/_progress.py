from __future__ import annotations

import sys

from prefect.artifacts import create_progress_artifact, update_progress_artifact
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn


class PageProgress:
    """How many of a run's pages are done: a progress artifact in the Prefect UI, and a progress
    bar when the run was started from a terminal."""

    def __init__(self, total: int, *, key: str, description: str):
        self.total, self.done = total, 0
        self.description = description
        # Nothing to do is all done.
        self.artifact_id = create_progress_artifact(0.0 if total else 100.0, key=key, description=description)
        self.bar = None
        if sys.stderr.isatty():
            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TimeRemainingColumn(), console=Console(stderr=True))
            self.bar_task = self.bar.add_task(description, total=total)

    def __enter__(self) -> PageProgress:
        if self.bar:
            self.bar.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.bar:
            self.bar.stop()

    def advance(self, pages: int) -> None:
        self.done += pages
        update_progress_artifact(self.artifact_id, 100.0 * self.done / max(self.total, 1),
                                 description=f"{self.description}: {self.done} of {self.total} pages")
        if self.bar:
            self.bar.update(self.bar_task, advance=pages)
