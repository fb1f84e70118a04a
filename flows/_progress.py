from __future__ import annotations

import sys
import threading
from collections import Counter
from urllib.parse import urlsplit

from prefect.artifacts import create_progress_artifact, update_progress_artifact
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TextColumn, TimeRemainingColumn
from rich.text import Text


class _Rate(ProgressColumn):
    def render(self, task: Task) -> Text:
        return Text(f"{task.speed or 0:.1f} pages/s")


class PageProgress:
    """How many of a run's pages are done: a progress bar with rate and time left when the run was
    started from a terminal, moving as each page comes in, and a progress artifact in the Prefect UI
    that moves as they are stored. When the pages left are all on one host, the bar says that the
    host's politeness sets the pace."""

    def __init__(self, urls: list[str], *, key: str, description: str):
        self.total, self.stored_pages = len(urls), 0
        self.description = description
        self._left = Counter(urlsplit(url).netloc for url in urls)
        self._lock = threading.Lock()
        # Nothing to do is all done.
        self.artifact_id = create_progress_artifact(0.0 if urls else 100.0, key=key, description=description)
        self.bar = None
        if sys.stderr.isatty():
            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), _Rate(),
                                TimeRemainingColumn(), console=Console(stderr=True))
            self.bar_task = self.bar.add_task(self.line(), total=self.total)

    def __enter__(self) -> PageProgress:
        if self.bar:
            self.bar.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.bar:
            self.bar.stop()

    def line(self) -> str:
        """What the progress line says: the run, and the host whose politeness sets the pace when the
        pages left are all on one."""
        hosts = [host for host, left in self._left.items() if left]
        if len(hosts) == 1:
            return f"{self.description} (limited by politeness of {hosts[0]})"
        return self.description

    def fetched(self, url: str) -> None:
        """One page came in (called from any thread)."""
        self._advance([url])

    def stored(self, urls: list[str], *, counted: bool) -> None:
        """These pages are stored, or were stored before and are skipped; ``counted`` when each
        came in through ``fetched`` already."""
        if not counted:
            self._advance(urls)
        with self._lock:
            self.stored_pages += len(urls)
            share = 100.0 * self.stored_pages / max(self.total, 1)
        update_progress_artifact(self.artifact_id, share,
                                 description=f"{self.description}: {self.stored_pages} of {self.total} pages")

    def _advance(self, urls: list[str]) -> None:
        with self._lock:
            self._left.subtract(urlsplit(url).netloc for url in urls)
            if self.bar:
                self.bar.update(self.bar_task, advance=len(urls), description=self.line())
