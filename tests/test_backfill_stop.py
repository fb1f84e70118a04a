"""Stopping a backfill command mid-run: Ctrl-C, SIGTERM, a kill; then the same command resumes it
(a module of its own: its tests take a minute or more, and the test workers share modules out)."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest

from flows import backfill
from helpers import (IN_RANGE, PAGES, SINCE, UNTIL, archive_routes, finished_chunks, page_requests, sources_toml,
                     stored_paths)
from newswatch.loopback import LoopbackSite

ROOT = Path(__file__).resolve().parents[1]
# Two sources of twelve pages each (the range's, and an undated one dated before it), two pages a
# chunk: twelve chunks, each with a page of each source, and a checkpoint per source and chunk.
CHECKPOINTS = 24


@contextmanager
def two_slow_sources(tmp_path) -> Iterator[list[LoopbackSite]]:
    """Two archive sites whose pages are slow (a stop lands in the middle of the run), listed in
    tmp_path/sources.toml."""
    with LoopbackSite() as first, LoopbackSite() as second:
        for number, site in enumerate((first, second)):
            routes = archive_routes(site.base_url, PAGES, seed=number)
            for path in IN_RANGE:
                routes[path].delay = 0.3
            site.routes.update(routes)
        (tmp_path / "sources.toml").write_text(
            sources_toml(first.base_url) + sources_toml(second.base_url).replace("Archive Times", "Second Times"))
        yield [first, second]


def site_paths(site, db) -> list[str]:
    """The paths of this site's articles stored in ``db``."""
    return [path for path in stored_paths(site, db) if path.startswith("/")]  # the others' are whole URLs


def assert_every_article_once(sites, db) -> None:
    for site in sites:
        paths = site_paths(site, db)
        assert len(paths) == len(set(paths)) and set(paths) == IN_RANGE


def test_killed_halfway_then_rerun_stores_every_article_once(tmp_path, prefect_api):
    from prefect.settings import PREFECT_API_URL

    with two_slow_sources(tmp_path) as sites:
        db = tmp_path / "news.db"
        code = ("import sys; from datetime import date; from flows import backfill; "
                "backfill(since=date(2024, 1, 3), until=date(2024, 1, 12), sources_file=sys.argv[1], "
                "db_path=sys.argv[2], chunk_size=2, alert_mode='none')")
        log = tmp_path / "backfill.log"
        with open(log, "wb") as out:
            process = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "sources.toml"), str(db)],
                                       cwd=ROOT, env={**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value()},
                                       stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None and finished_chunks(db) < 4:
            time.sleep(0.05)
        assert process.poll() is None, log.read_text()[-3000:]
        helpers = psutil.Process(process.pid).children(recursive=True)  # extraction processes among them
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert 4 <= finished_chunks(db) < CHECKPOINTS, "killed halfway"
        # The processes of the killed run leave with it: none waits for work forever.
        _, alive = psutil.wait_procs(helpers, timeout=15)
        assert not alive, [" ".join(p.cmdline())[:120] for p in alive]
        stored_before_kill = [set(site_paths(site, db)) for site in sites]

        for site in sites:
            site.requests.clear()
        summary = backfill(since=SINCE, until=UNTIL, sources_file=str(tmp_path / "sources.toml"), db_path=str(db),
                           chunk_size=2, alert_mode="none")

        assert_every_article_once(sites, db)
        assert summary.new == sum(len(IN_RANGE - before) for before in stored_before_kill)
        for site, before in zip(sites, stored_before_kill, strict=True):
            assert not set(page_requests(site)) & before  # nothing stored is fetched again
        assert finished_chunks(db) == CHECKPOINTS


# Ctrl-C and SIGTERM meet the same handler: each is tried with one kind of Prefect server.
@pytest.mark.parametrize("prefect_server, stop", [("temporary", "ctrl-c"), ("the session's", "sigterm")])
@pytest.mark.usefixtures("prefect_api")
def test_ctrl_c_stops_a_backfill_at_once_and_the_same_command_resumes_it(tmp_path, prefect_server, stop):
    """Ctrl-C reaches every process of the terminal's group: the backfill, its extraction processes
    and a temporary Prefect server; SIGTERM (`kill`, a service manager) reaches the command alone.
    Either ends it at once with one line and exit code 130, its flow run recorded as crashed."""
    from prefect.settings import PREFECT_API_URL

    env = {name: value for name, value in os.environ.items() if name != "PREFECT_API_URL"}
    if prefect_server == "the session's":
        env["PREFECT_API_URL"] = PREFECT_API_URL.value()
    with two_slow_sources(tmp_path) as sites:
        db = tmp_path / "news.db"
        command = [sys.executable, "-m", "newswatch", "backfill", "--since", str(SINCE), "--until", str(UNTIL),
                   "--sources", str(tmp_path / "sources.toml"), "--db", str(db), "--chunk-size", "2",
                   "--alert-mode", "none"]
        log = tmp_path / "backfill.log"
        with open(log, "wb") as out:
            process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT,
                                       start_new_session=True,  # a process group of its own, as in a terminal
                                       preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        deadline = time.monotonic() + 120  # a temporary server creates its database first
        while time.monotonic() < deadline and process.poll() is None and finished_chunks(db) < 4:
            time.sleep(0.05)
        assert process.poll() is None, log.read_text()[-3000:]
        helpers = psutil.Process(process.pid).children(recursive=True)
        if stop == "ctrl-c":
            os.killpg(process.pid, signal.SIGINT)
        else:
            process.send_signal(signal.SIGTERM)
        try:
            returncode = process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise AssertionError(f"still running 30 s after {stop}: " + log.read_text()[-3000:]) from None
        output = log.read_text()
        assert returncode == 130, output[-3000:]
        assert "interrupted: what was stored is kept; run the same command again" in output
        _, alive = psutil.wait_procs(helpers, timeout=15)
        assert not alive, [" ".join(p.cmdline())[:120] for p in alive]
        if prefect_server == "the session's":
            assert backfill_run_states(process.pid) == ["CRASHED"]
        assert finished_chunks(db) < CHECKPOINTS, "interrupted halfway"

        summary = backfill(since=SINCE, until=UNTIL, sources_file=str(tmp_path / "sources.toml"), db_path=str(db),
                           chunk_size=2, alert_mode="none")
        assert_every_article_once(sites, db)
        assert summary.new > 0 and finished_chunks(db) == CHECKPOINTS


def backfill_run_states(pid: int) -> list[str]:
    """The states of the flow runs the command with process id ``pid`` started."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterTags

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(
            tags=FlowRunFilterTags(all_=[f"newswatch-command-{pid}"])))
    return [run.state.type.value for run in runs]
