"""The deployments of deploy/prefect.yaml on a real Prefect server (`prefect server start` on
127.0.0.1): a process work pool and a worker, then `newswatch serve`, against the loopback seeds site."""

import asyncio
import configparser
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import feedparser
import httpx
import pytest

from helpers import ARABIC_PATH, FLAGGED_PATHS, NOT_FLAGGED_PATHS, PERSIAN_PATH, REJECTED_PATH, TOKYO_PATH
from newswatch.loopback import free_port
from storage import Store

# A server and workers of their own: minutes, not seconds.
pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SCHEDULER_LOOP_SECONDS = 2


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def unit_stop(unit: str) -> tuple[signal.Signals, float]:
    """The signal systemd stops ``unit`` with, and how long it then waits before SIGKILL."""
    config = configparser.ConfigParser(strict=False, interpolation=None)
    config.read(ROOT / "deploy" / unit)
    service = config["Service"]
    return signal.Signals[service.get("KillSignal", "SIGTERM")], float(service.get("TimeoutStopSec", "90"))


def stop_as_systemd_does(process: subprocess.Popen, unit: str) -> None:
    """Stop ``process`` as systemd stops ``unit``: it must end by itself before the SIGKILL."""
    kill_signal, seconds = unit_stop(unit)
    process.send_signal(kill_signal)
    process.wait(timeout=seconds)


@pytest.mark.parametrize("unit", ["newswatch-worker.service", "newswatch-serve.service"])
def test_units_stop_with_a_signal_that_ends_the_process_in_time(unit):
    kill_signal, seconds = unit_stop(unit)
    assert kill_signal == signal.SIGINT and seconds <= 90  # Prefect's worker sat out SIGTERM for minutes


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A Prefect server on a loopback port, with its own SQLite database; yields the environment
    that points Prefect's CLI and client at it."""
    home = tmp_path_factory.mktemp("prefect-server")
    port = free_port()
    env = {**os.environ, "PREFECT_HOME": str(home),
           "PREFECT_API_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{home}/prefect.db",
           "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": str(SCHEDULER_LOOP_SECONDS), "PREFECT_UI_ENABLED": "false",
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}
    env.pop("PREFECT_API_URL", None)
    log = open(home / "server.log", "wb")
    process = subprocess.Popen([BIN / "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                               env=env, stdout=log, stderr=subprocess.STDOUT)
    api = f"http://127.0.0.1:{port}/api"
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            stop(process)
            raise AssertionError("the Prefect server did not start:\n" + (home / "server.log").read_text()[-3000:])
        time.sleep(0.5)
    yield {**env, "PREFECT_API_URL": api}
    stop(process)
    log.close()


def prefect(env, *args, timeout=240) -> str:
    result = subprocess.run([BIN / "prefect", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, f"prefect {' '.join(args)}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def run_and_watch(env, deployment, *params) -> str:
    """`prefect deployment run` as a user types it, watched until the run ends; fails unless it completed."""
    args = [arg for param in params for arg in ("--param", param)]
    output = prefect(env, "deployment", "run", deployment, *args, "--watch", "--watch-timeout", "180")
    assert "Flow run finished successfully in 'Completed'" in output, output[-2000:]
    return output


def deactivate_schedules(env, deployment: str) -> None:
    """Once the scheduler has shown it creates a deployment's runs: stop it. The monitor runs every
    quarter hour, one run at a time, and cancels a run that would overlap (CANCEL_NEW), so a run by
    hand near a quarter hour could meet a scheduled one. The server deletes the schedules' runs; a
    scheduler pass already under way may still add some, so this waits it out and deletes again."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: env["PREFECT_API_URL"]}), get_client(sync_client=True) as client:
        found = client.read_deployment_by_name(deployment)
        for attempt in range(2):
            for schedule in found.schedules:
                client.update_deployment_schedule(found.id, schedule.id, active=False)
            if not attempt:
                time.sleep(2.5 * SCHEDULER_LOOP_SECONDS)


def read_deployment(env, deployment: str):
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: env["PREFECT_API_URL"]}), get_client(sync_client=True) as client:
        return client.read_deployment_by_name(deployment)


def scheduled_runs(env, deployment: str) -> list:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (DeploymentFilter, DeploymentFilterId, FlowRunFilter,
                                                FlowRunFilterState, FlowRunFilterStateType)
    from prefect.client.schemas.objects import StateType
    from prefect.settings import PREFECT_API_URL, temporary_settings

    async def read():
        async with get_client() as client:
            found = await client.read_deployment_by_name(deployment)
            return await client.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[found.id])),
                flow_run_filter=FlowRunFilter(state=FlowRunFilterState(
                    type=FlowRunFilterStateType(any_=[StateType.SCHEDULED]))))

    with temporary_settings({PREFECT_API_URL: env["PREFECT_API_URL"]}):
        return asyncio.run(read())


def wait_for_scheduled_runs(env, deployment: str, seconds: float = 60) -> list:
    deadline = time.monotonic() + seconds
    while not (runs := scheduled_runs(env, deployment)) and time.monotonic() < deadline:
        time.sleep(1)
    return runs


def stored_paths(site, db) -> set[str]:
    with Store(db) as store:
        return {row["url"].removeprefix(site.base_url) for row in store.articles()}


def test_deployments_on_a_process_worker(server, site, sources_file, tmp_path):
    prefect(server, "work-pool", "create", "newswatch", "--type", "process")
    prefect(server, "--no-prompt", "deploy", "--all", "--prefect-file", "deploy/prefect.yaml")

    # The scheduler creates upcoming runs of the scheduled deployments, each when it reaches it:
    # the digest's may come after the monitor's (CI once saw none yet).
    upcoming = wait_for_scheduled_runs(server, "newswatch/monitor")
    assert upcoming and all(run.expected_start_time.minute % 15 == 0 for run in upcoming)
    assert wait_for_scheduled_runs(server, "newswatch/digest")
    assert not scheduled_runs(server, "newswatch/backfill")

    db = tmp_path / "news.db"
    worker_env = {**server, "NEWSWATCH_HOME": str(ROOT), "NEWSWATCH_DB": str(db),
                  "NEWSWATCH_SOURCES": str(sources_file), "PREFECT_WORKER_QUERY_SECONDS": "1"}
    with open(tmp_path / "worker.log", "wb") as log:
        worker = subprocess.Popen([BIN / "prefect", "worker", "start", "--pool", "newswatch"], cwd=tmp_path,
                                  env=worker_env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deactivate_schedules(server, "newswatch/monitor")
        assert not scheduled_runs(server, "newswatch/monitor")
        run_and_watch(server, "newswatch/monitor")
        assert stored_paths(site, db) == set(FLAGGED_PATHS + NOT_FLAGGED_PATHS)

        backfilled = tmp_path / "backfill.db"
        run_and_watch(server, "newswatch/backfill", "since=2019-01-01", "until=2024-12-31",
                      f"db_path={backfilled}")
        # The 2017 article and the two of 2025 are outside the range.
        assert stored_paths(site, backfilled) == set(FLAGGED_PATHS + NOT_FLAGGED_PATHS) - {
            REJECTED_PATH, ARABIC_PATH, PERSIAN_PATH}
        assert TOKYO_PATH in stored_paths(site, backfilled)
        stop_as_systemd_does(worker, "newswatch-worker.service")
    finally:
        stop(worker)


def test_newswatch_serve_runs_the_same_deployments(server, site, sources_file, tmp_path):
    db = tmp_path / "served.db"
    env = {**server, "NEWSWATCH_DB": str(db), "NEWSWATCH_SOURCES": str(sources_file),
           "PREFECT_RUNNER_POLL_FREQUENCY": "1"}
    # The worker's deployments (the test above) are not taken over behind a user's back.
    refused = subprocess.run([BIN / "newswatch", "serve"], cwd=ROOT, env=env, capture_output=True, text=True,
                             timeout=120)
    assert refused.returncode == 1
    message = " ".join(refused.stderr.split())  # rich wraps long lines
    assert "newswatch/monitor (work pool newswatch)" in message and "already run on a worker" in message
    for name in ("monitor", "digest", "backfill"):
        prefect(server, "deployment", "delete", f"newswatch/{name}")

    feed_port = free_port()
    feed_url = f"http://127.0.0.1:{feed_port}/feed.xml"
    with open(tmp_path / "serve.log", "wb") as log:
        serving = subprocess.Popen([BIN / "newswatch", "serve", "--feed-port", str(feed_port)], cwd=ROOT, env=env,
                                   stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "newswatch/backfill" not in (tmp_path / "serve.log").read_text():
            assert serving.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            time.sleep(0.5)
        assert wait_for_scheduled_runs(server, "newswatch/monitor")
        # A second serve is refused, and so cannot pause the deployments the first one serves.
        second = subprocess.run([BIN / "newswatch", "serve"], cwd=ROOT, env=env, capture_output=True, text=True,
                                timeout=120)
        assert second.returncode == 1, second.stderr[-3000:]
        assert "already served by another process" in " ".join(second.stderr.split())
        assert not any(read_deployment(server, f"newswatch/{name}").paused for name in ("monitor", "digest"))
        deactivate_schedules(server, "newswatch/monitor")
        assert not scheduled_runs(server, "newswatch/monitor")
        no_store_yet = httpx.get(feed_url)
        assert no_store_yet.status_code == 404 and "no store at" in no_store_yet.text
        run_and_watch(server, "newswatch/monitor")
        assert stored_paths(site, db) == set(FLAGGED_PATHS + NOT_FLAGGED_PATHS)
        # The feed the same process serves is made from the store at each request.
        feed = feedparser.parse(httpx.get(feed_url).content)
        assert not feed.bozo and {e.link for e in feed.entries} == {site.url(p) for p in FLAGGED_PATHS}
        backfilled = tmp_path / "served-backfill.db"
        run_and_watch(server, "newswatch/backfill", "since=2017-01-01", "until=2017-12-31", f"db_path={backfilled}")
        assert stored_paths(site, backfilled) == {FLAGGED_PATHS[1]}  # the one 2017 article
        stop_as_systemd_does(serving, "newswatch-serve.service")
    finally:
        stop(serving)
