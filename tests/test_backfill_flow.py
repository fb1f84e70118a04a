"""The backfill flow under a real Prefect API, where orchestration is what is tested: chunks in
flight, extraction processes, the second opinion, artifacts, Dask. Stopping one: test_backfill_stop.py."""

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from pydantic import SecretStr
from typer.testing import CliRunner

from flows import backfill
from helpers import (FLAGGED_IN_RANGE, IN_RANGE, PAGES, SINCE, UNTIL, archive_routes, finished_chunks, page_html,
                     sources_toml, stored_paths)
from newswatch.cli import app
from newswatch.loopback import LoopbackSite, Response
from pipeline import analyse, analysis_pool
from sources import FetchedPage
from storage import Filters, Store

ROOT = Path(__file__).resolve().parents[1]


def run_backfill(tmp_path, mail=None, chunk_size=4, **options):
    """The backfill flow (under the session's Prefect API)."""
    return backfill(since=SINCE, until=UNTIL, sources_file=str(tmp_path / "sources.toml"),
                    db_path=str(tmp_path / "news.db"), chunk_size=chunk_size,
                    alert_urls=[SecretStr(mail.alert_url())] if mail else None, **options)


# A markets story whose only word of the talks is one sentence of its body: too weak for the rules,
# confirmed by the semantic second opinion.
MARKETS_STORY = ["Brent crude fell 1% on Tuesday as inventories rose for a second week.",
                 "Traders said sentiment shifted after reports that Iranian and American negotiators would meet "
                 "again in Muscat next week."]


def test_the_flow_gives_the_second_opinion_the_extraction_processes_leave_out(tmp_path, archive, prefect_api):
    markets = next(p for p in PAGES if p.path in IN_RANGE and p.day and not p.flagged)
    archive.routes[markets.path] = Response(page_html("Oil slips as supply worries ease", markets.day, MARKETS_STORY))
    page = FetchedPage(archive.url(markets.path), archive.url(markets.path), "text/html",
                       archive.routes[markets.path].body)
    with analysis_pool(ROOT / "seeds" / "topics.toml", workers=1) as pool:
        (in_worker,) = pool.submit(analyse, page).result(timeout=60).detections
    assert in_worker.evidence and not in_worker.flagged  # the extraction processes detect by the rules

    summary = run_backfill(tmp_path, alert_mode="none")

    with Store(tmp_path / "news.db") as store:
        flagged = {row["url"].removeprefix(archive.base_url) for row in store.articles(Filters(flagged=True))}
    assert flagged == FLAGGED_IN_RANGE | {markets.path} and summary.flagged == len(flagged)


def test_backfill_command(tmp_path, archive, prefect_api):
    db = tmp_path / "news.db"
    args = ["backfill", "--since", "2024-01-03", "--until", "2024-01-12", "--sources", str(tmp_path / "sources.toml"),
            "--db", str(db), "--alert-mode", "none", "--chunk-size", "5"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert f"{len(IN_RANGE)} new" in result.output
    assert set(stored_paths(archive, db)) == IN_RANGE

    backwards = CliRunner().invoke(app, [*args[:2], "2024-01-12", "--until", "2024-01-03", *args[5:]])
    assert backwards.exit_code == 1 and "before since" in backwards.output
    both = CliRunner().invoke(app, [*args, "--urls", str(tmp_path / "sources.toml")])
    assert both.exit_code == 1 and "alternatives" in both.output


def test_progress_and_report_artifacts(tmp_path, archive, prefect_api):
    summary = run_backfill(tmp_path, None, alert_mode="none")

    async def latest(key):
        async with get_client() as client:
            (artifact,) = await client.read_latest_artifacts(artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=[key])))
            return artifact

    progress = asyncio.run(latest("backfill-progress"))
    assert progress.type == "progress" and float(progress.data) == 100.0
    report = asyncio.run(latest("backfill-flagged-stories"))
    assert summary.flagged == len(FLAGGED_IN_RANGE)
    assert all(story["url"] in report.data for story in summary.flagged_stories)

    archive.routes["/empty.xml"] = Response(b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"/>',
                                            "application/xml")
    (tmp_path / "empty.toml").write_text(f'[[sources]]\nname = "Empty"\nsitemap = "{archive.url("/empty.xml")}"\n')
    empty = backfill(since=SINCE, until=UNTIL, sources_file=str(tmp_path / "empty.toml"),
                     db_path=str(tmp_path / "news.db"), alert_mode="none")
    assert (empty.announced, empty.failures) == (0, [])
    assert float(asyncio.run(latest("backfill-progress")).data) == 100.0  # nothing to do is done


@pytest.fixture(scope="module")
def dask_address(prefect_api, tmp_path_factory):
    """A real dask.distributed cluster on loopback: a scheduler and two single-thread worker processes,
    started as the deploy/ README starts them, reporting their task runs to the session's Prefect API."""
    from distributed import Client
    from prefect.settings import PREFECT_API_URL

    from newswatch.loopback import free_port

    address = f"tcp://127.0.0.1:{free_port()}"
    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value()}
    log = tmp_path_factory.mktemp("dask") / "cluster.log"
    with open(log, "wb") as out:
        processes = [
            subprocess.Popen([sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1", "--port",
                              address.rsplit(":", 1)[1], "--no-dashboard"], env=env, stdout=out, stderr=out),
            subprocess.Popen([sys.executable, "-m", "dask", "worker", address, "--nworkers", "2", "--nthreads", "1",
                              "--host", "127.0.0.1", "--no-dashboard"], cwd=ROOT, env=env, stdout=out, stderr=out),
        ]
    try:
        with Client(address, timeout=30) as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for process in reversed(processes):
            process.terminate()
            process.wait(timeout=30)


def executed_by_worker(address: str) -> dict[str, int]:
    from distributed import Client

    with Client(address) as client:
        return client.run(lambda dask_worker: dask_worker.state.executed_count)


def test_backfill_on_a_dask_cluster(tmp_path, archive, dask_address, mail):
    before = executed_by_worker(dask_address)

    summary = run_backfill(tmp_path, mail, dask_address=dask_address)

    assert set(stored_paths(archive, tmp_path / "news.db")) == IN_RANGE
    assert (summary.new, summary.flagged, summary.failures) == (len(IN_RANGE), len(FLAGGED_IN_RANGE), [])
    assert len(mail.messages) == 1
    # Both worker processes collected chunks; the flow only stored them.
    collected = [count - before[worker] for worker, count in executed_by_worker(dask_address).items()]
    assert sum(collected) == finished_chunks(tmp_path / "news.db") and min(collected) >= 1, collected

    again = run_backfill(tmp_path, mail, dask_address=dask_address)
    assert (again.new, again.fetched, again.alerts_sent) == (0, 0, 0)


def test_unreachable_dask_scheduler_is_a_clear_error(tmp_path, archive, prefect_api):
    from newswatch.loopback import free_port

    result = CliRunner().invoke(app, ["backfill", "--since", "2024-01-03", "--until", "2024-01-12", "--sources",
                                      str(tmp_path / "sources.toml"), "--db", str(tmp_path / "news.db"),
                                      "--dask", f"tcp://127.0.0.1:{free_port()}"])
    assert result.exit_code == 1
    assert "no Dask scheduler answers at tcp://127.0.0.1:" in result.output
    assert stored_paths(archive, tmp_path / "news.db") == []


def test_dask_worker_killed_mid_chunk_loses_nothing(tmp_path, dask_address):
    import threading

    from distributed import Client

    with LoopbackSite() as site, Client(dask_address) as client:
        routes = archive_routes(site.base_url, PAGES)
        for path in IN_RANGE:  # slow pages: the kill lands while a worker collects a chunk
            routes[path].delay = 0.3
        site.routes.update(routes)
        (tmp_path / "sources.toml").write_text(sources_toml(site.base_url))
        pids = client.run(os.getpid)
        killed = []

        def kill_a_busy_worker():
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not killed:
                busy = [worker for worker, keys in client.processing().items() if keys]
                if busy and finished_chunks(tmp_path / "news.db") >= 1:
                    os.kill(pids[busy[0]], signal.SIGKILL)
                    killed.append(busy[0])
                time.sleep(0.05)

        killer = threading.Thread(target=kill_a_busy_worker)
        killer.start()
        summary = run_backfill(tmp_path, None, chunk_size=2, alert_mode="none", dask_address=dask_address)
        killer.join()

        assert killed, "no worker was busy after the first chunk"
        paths = stored_paths(site, tmp_path / "news.db")
        assert len(paths) == len(set(paths)) and set(paths) == IN_RANGE  # every article, once
        assert (summary.new, summary.failures) == (len(IN_RANGE), [])
        client.wait_for_workers(2, timeout=60)  # the nanny restarts the killed worker


def test_chunks_fetched_at_once_share_the_per_host_limit(tmp_path, prefect_api):
    with LoopbackSite() as site:
        routes = archive_routes(site.base_url, PAGES)
        for path in IN_RANGE:  # pages slower than the spacing of request starts: two chunks in flight overlap
            routes[path].delay = 1.2
        site.routes.update(routes)
        (tmp_path / "sources.toml").write_text(sources_toml(site.base_url))

        summary = run_backfill(tmp_path, None, chunk_size=2, alert_mode="none")

        assert summary.new == len(IN_RANGE)
        assert site.peak_in_flight == 2  # NEWSWATCH_PER_HOST, measured at the server


def extraction_caches_filled() -> dict[str, bool]:
    """In the process that runs it: whether extraction's lazily built caches exist yet."""
    from dateparser.languages.dictionary import Dictionary
    from trafilatura import external

    return {"jusText stoplists": bool(external.JT_STOPLIST),
            "dateparser patterns": bool(Dictionary._split_relative_regex_cache)}


@pytest.mark.slow  # a fork server that extracts the demo site before its first worker: about 10 s
def test_extraction_processes_start_with_the_caches_filled():
    # Filled once in the fork server, they are shared by every worker instead of built in each.
    with analysis_pool(ROOT / "seeds" / "topics.toml", workers=1) as pool:
        assert pool.submit(extraction_caches_filled).result(timeout=60) == {
            "jusText stoplists": True, "dateparser patterns": True}


@pytest.mark.slow  # a fork server of its own, as above
def test_ctrl_c_leaves_the_extraction_processes_to_their_owner():
    """Ctrl-C reaches the extraction processes too. One that died of it broke the pool, and the backfill
    waited for its futures forever; the backfill stops them itself."""
    with analysis_pool(ROOT / "seeds" / "topics.toml", workers=1) as pool:
        worker = pool.submit(os.getpid).result(timeout=60)
        os.kill(worker, signal.SIGINT)
        time.sleep(0.5)
        assert pool.submit(os.getpid).result(timeout=60) == worker


def test_the_backfill_flow_reads_warc_files(tmp_path, prefect_api):
    """`newswatch backfill --warc`: the flow's extraction processes, chunks and checkpoints, over
    pages read from the file; nothing is fetched, and a rerun stores nothing."""
    from helpers import write_warc

    base = "https://archive-times.example"
    write_warc(tmp_path / "news.warc.gz", base)
    first = run_backfill(tmp_path, alert_mode="none", warc_files=[str(tmp_path / "news.warc.gz")])
    assert first.new == len(IN_RANGE) and {url for url, _ in first.failures} >= {f"{base}/moved", f"{base}/gone"}
    with Store(tmp_path / "news.db") as store:
        assert {row["url"].removeprefix(base) for row in store.articles()} == IN_RANGE
    again = run_backfill(tmp_path, alert_mode="none", warc_files=[str(tmp_path / "news.warc.gz")])
    assert (again.new, again.fetched) == (0, 0)


def test_the_progress_line_says_when_one_host_s_politeness_sets_the_pace(prefect_api):
    from prefect import flow

    from flows._progress import PageProgress

    @flow(persist_result=False)
    def lines() -> list[str]:  # a flow run: the progress artifact belongs to one
        progress = PageProgress(["http://a.example/1", "http://b.example/1", "http://b.example/2"],
                                key="progress-test", description="backfill 2024")
        seen = [progress.line()]
        progress.fetched("http://b.example/1")
        seen.append(progress.line())
        progress.stored(["http://a.example/1"], counted=False)
        return [*seen, progress.line()]

    assert lines() == ["backfill 2024", "backfill 2024", "backfill 2024 (limited by politeness of b.example)"]
