"""Extraction and detection of fetched pages, in this process or on every core.

A worker process imports this module, the extractors and the detectors, but not Prefect, which
would triple its memory."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Mapping
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from detectors import Detection, Topic, detect_each, load_topics
from extractors import Article, ExtractionError, SiteMemory, extract_article
from sources import FetchedPage


@dataclass
class Analysis:
    url: str
    article: Article | None = None
    # Every topic's detection, the best first.
    detections: list[Detection] | None = None
    error: str | None = None
    extract_seconds: float = 0.0
    detect_seconds: float = 0.0


# How often a pool's worker checks that the process owning the pool is still there.
OWNER_CHECK_SECONDS = 1.0
# The topics of a pool's worker process, loaded once when it starts.
_worker_topics: list[Topic] = []


def _start_worker(topics_file: Path, owner_pid: int) -> None:
    global _worker_topics
    # Ctrl-C reaches every process of the terminal's group. A worker that died of it broke the pool,
    # and the owner waited forever for its futures; the owner stops its workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker_topics = load_topics(topics_file)
    threading.Thread(target=_exit_with, args=(owner_pid,), name="exit-with-owner", daemon=True).start()


def _exit_with(owner_pid: int) -> None:
    """Leave when the process that owns the pool is gone. A killed owner never shuts its pool down,
    and its workers (children of the fork server, not of the owner) would wait for work forever."""
    while True:
        time.sleep(OWNER_CHECK_SECONDS)
        try:
            os.kill(owner_pid, 0)
        except ProcessLookupError:
            os._exit(1)


def analyse(page: FetchedPage, topics: list[Topic] | None = None,
            site_memory: Mapping[str, SiteMemory] | None = None) -> Analysis:
    """Extract a page's article (without the chrome its site repeats, as ``site_memory`` knows it) and
    detect its topics (with ``topics``, or a pool worker's) by their rules: the semantic second
    opinion (``detectors.with_second_opinion``) is the caller's, so that workers never load its model."""
    started = time.perf_counter()
    try:
        article = extract_article(page.body, url=page.url, content_type=page.content_type,
                                  site_memory=site_memory)
    except ExtractionError as exc:
        return Analysis(page.url, error=f"extraction: {exc}", extract_seconds=time.perf_counter() - started)
    extracted = time.perf_counter()
    detections = detect_each(topics if topics is not None else _worker_topics, title=article.title,
                             text=article.text, second_opinion=False, language=article.language)
    return Analysis(page.url, article, detections, extract_seconds=extracted - started,
                    detect_seconds=time.perf_counter() - extracted)


def analysis_pool(topics_file: Path, workers: int) -> Executor:
    """Worker processes for ``analyse``: extraction is CPU-bound, so one per core. They are forked
    from a server process that has imported the extractors and filled their caches already
    (``pipeline._preload``), so each starts in milliseconds and shares those caches."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["pipeline._preload"])
    return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_start_worker,
                               initargs=(topics_file, os.getpid()))
