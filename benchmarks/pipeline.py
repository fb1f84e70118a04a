"""Backfill throughput, end to end, against baselines measured in the same run.

    python benchmarks/pipeline.py [--pages 2000] [--sites 1] [--default-politeness] [--warc] [--backfill-only]

Over the same N pages of benchmarks/site.py (served by real HTTP servers in a process of their own,
page n on site n % --sites, each site on a port of its own: a host of its own to politeness):
  (a) trafilatura.extract alone, one process, pages already in memory: the baseline, measured first
      and again last, as a shared machine's speed moves (both are printed; ratios use their mean);
  (a') the same with one process per core, each over its share of the pages: what the cores allow
      (on this machine kind's two virtual cores, seldom twice (a));
  (b) a naive sequential loop: httpx.get, trafilatura.extract, sqlite-utils insert;
  (c) the backfill flow (`newswatch backfill`'s flow, with dedup, detection, storage and alert
      enqueueing), in a process of its own under a running Prefect API, so that its peak RSS is
      its own; with --warc, over a WARC file of the same pages (written first, with warcio) instead
      of the sites: `newswatch backfill --warc`.
Per-site politeness is relaxed for the loopback sites (NEWSWATCH_PER_HOST=8, NEWSWATCH_MIN_DELAY=0)
unless --default-politeness: at the defaults each site takes 2 requests at a time, started 0.5 s
apart, so that N sites are fetched at 2N pages a second at most.
Orchestration is the number of Prefect task runs of (c) (read from the Prefect API) and its flow
run, times their cost measured here with tasks that do nothing, as a share of (c)'s wall time.
The CPU seconds of (c)'s flow process, of its extraction processes, of the site's server and of the
Prefect API are printed against what the cores had in (c)'s wall time: when they are all busy, CPU
is what bounds the throughput.
--backfill-only runs (c) alone: for the peak RSS of a long backfill (--pages 20000).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import trafilatura

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks import loopback_sources, private_prefect  # noqa: E402

private_prefect()
loopback_sources()

from benchmarks.site import build_pages, page_path, served_site, sources_toml  # noqa: E402

# Where the baselines say the pages came from.
BENCH_URL = "http://bench.example"
# How often (c)'s memory is sampled: its sampler's CPU is printed, as it shares the cores with (c).
SAMPLE_SECONDS = 1.0
# Past this, the two readings of (a), first and last, say the machine's speed moved during the run.
DRIFT_WARNING = 0.10

# Run as (c): the backfill flow, timed from inside its process; prints one JSON line.
BACKFILL = """
import asyncio, contextlib, json, resource, sys, threading, time
from datetime import date
import psutil
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from flows import backfill

# The whole backfill's memory: this process and its extraction processes, sampled. PSS, so that
# what forked processes share is counted once; costly to read, so read every argv[3] seconds. And
# the CPU seconds of each process, last seen: cheap, and read often, as a process that exits takes
# its CPU since the last reading with it.
tree_peak, cpu, sampler_cpu, done = 0, {}, 0.0, threading.Event()
def sample_tree():
    global tree_peak, sampler_cpu
    me, memory_read = psutil.Process(), 0.0
    while not done.wait(0.2):
        processes = [me, *me.children(recursive=True)]
        if time.monotonic() - memory_read >= float(sys.argv[3]):
            memory_read = time.monotonic()
            tree_peak = max(tree_peak, sum(p.memory_full_info().pss for p in processes if p.is_running()))
        for p in processes[1:]:
            with contextlib.suppress(psutil.Error):
                cpu[p.pid] = sum(p.cpu_times()[:2])
        sampler_cpu = time.thread_time()  # the sampler's own CPU, counted in this process's
sampler = threading.Thread(target=sample_tree, daemon=True)
sampler.start()

started = time.perf_counter()
options = json.loads(sys.argv[4])
since, until = (date.fromisoformat(options.pop(key)) for key in ("since", "until"))
state = backfill(since=since, until=until, sources_file=sys.argv[1], db_path=sys.argv[2], alert_mode="none",
                 return_state=True, **options)
wall = time.perf_counter() - started
done.set()
sampler.join()
summary = state.result()

async def task_runs(flow_run_id):
    async with get_client() as client:
        runs, offset = 0, 0
        while page := await client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])), offset=offset, limit=200):
            runs, offset = runs + len(page), offset + len(page)
        return runs

print(json.dumps({"wall": wall, "new": summary.new, "duplicates": summary.duplicates, "fetched": summary.fetched,
                  "failed": len(summary.failures), "seconds": summary.seconds,
                  "task_runs": asyncio.run(task_runs(state.state_details.flow_run_id)),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "tree_peak_mb": tree_peak / 2**20,
                  "cpu_flow": sum(psutil.Process().cpu_times()[:2]) - sampler_cpu, "cpu_sampler": sampler_cpu,
                  "cpu_others": sum(cpu.values())}))
"""


def extract(body: bytes, url: str) -> str | None:
    """The baselines' extraction: trafilatura's, as a user calls it."""
    return trafilatura.extract(body, url=url, include_comments=False)


def raw_extraction(count: int) -> float:
    spent = 0.0
    for path, body in build_pages(count):
        started = time.perf_counter()
        extract(body, BENCH_URL + path)
        spent += time.perf_counter() - started
    return spent


def _extract_share(share: int, shares: int, count: int, start) -> tuple[float, float]:
    pages = list(build_pages(count, share=share, shares=shares))
    start.wait()  # every process has built its pages: they extract at once
    started = time.monotonic()
    for path, body in pages:
        extract(body, BENCH_URL + path)
    return started, time.monotonic()


def raw_extraction_on_every_core(count: int) -> float:
    """Seconds from the first process's start to the last one's end, one process per core."""
    cores = os.cpu_count() or 1
    spawn = multiprocessing.get_context("spawn")  # not a fork of this process and its threads
    with spawn.Manager() as manager, ProcessPoolExecutor(cores, mp_context=spawn) as pool:
        start = manager.Barrier(cores)
        spans = list(pool.map(_extract_share, range(cores), [cores] * cores, [count] * cores, [start] * cores))
    return max(end for _, end in spans) - min(started for started, _ in spans)


def naive_loop(base_urls: list[str], count: int, db: Path) -> float:
    import httpx
    import sqlite_utils

    table = sqlite_utils.Database(db)["articles"]
    started = time.perf_counter()
    with httpx.Client() as client:
        for number in range(count):
            url = base_urls[number % len(base_urls)] + page_path(number)
            text = extract(client.get(url).content, url)
            table.insert({"url": url, "text": text})
    return time.perf_counter() - started


def write_warc(path: Path, base_urls: list[str], count: int) -> None:
    """The sites' pages as a WARC file, as a web archive would hold them."""
    from io import BytesIO

    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with open(path, "wb") as out:
        writer = WARCWriter(out, gzip=True)
        for number, (page, body) in enumerate(build_pages(count)):
            headers = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(base_urls[number % len(base_urls)] + page, "response",
                                                          payload=BytesIO(body), http_headers=headers))


def _cpu_of_servers() -> dict[str, float]:
    """CPU seconds so far of this process's children, the site's server and the Prefect API's."""
    import psutil

    seconds: dict[str, float] = {}
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            name = "site" if "multiprocessing" in " ".join(child.cmdline()) else "Prefect API"
            seconds[name] = seconds.get(name, 0.0) + sum(child.cpu_times()[:2])
    return seconds


def prefect_costs() -> tuple[float, float]:
    """Seconds per flow run and per task run of Prefect itself, with tasks that do nothing."""
    from prefect import flow, task
    from prefect.cache_policies import NO_CACHE

    @task(cache_policy=NO_CACHE, persist_result=False)
    def nothing(value: int) -> int:
        return value

    @flow(persist_result=False)
    def tasks(count: int) -> None:
        for n in range(count):
            nothing(n)

    tasks(1)  # the first run registers the flow and warms Prefect up
    started = time.perf_counter()
    tasks(0)
    per_flow = time.perf_counter() - started
    # Enough tasks that their cost outweighs the flow start's variation.
    started = time.perf_counter()
    tasks(1000)
    return per_flow, (time.perf_counter() - started - per_flow) / 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--sites", type=int, default=1, help="sites the pages are spread over")
    parser.add_argument("--default-politeness", action="store_true", help="2 requests at a time a site, 0.5 s apart")
    parser.add_argument("--warc", action="store_true", help="(c) reads a WARC file of the pages, not the sites")
    parser.add_argument("--backfill-only", action="store_true", help="run (c) alone, without the baselines")
    args = parser.parse_args()
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    work = Path(tempfile.mkdtemp(prefix="newswatch-bench-"))
    with served_site(args.pages, sites=args.sites) as base_urls, prefect_test_harness(server_startup_timeout=120):
        (work / "sources.toml").write_text(sources_toml(base_urls))
        # The sites' sitemaps date every page in 2024; a WARC's pages keep the dates they show.
        options = {"since": "2024-01-01", "until": "2024-12-31"}
        if args.warc:
            write_warc(work / "pages.warc.gz", base_urls, args.pages)
            options |= {"warc_files": [str(work / "pages.warc.gz")], "since": "1990-01-01", "until": "2030-12-31"}
        if not args.backfill_only:
            a = raw_extraction(args.pages)
            a_cores = raw_extraction_on_every_core(args.pages)
            b = naive_loop(base_urls, args.pages, work / "naive.db")
        env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value()}
        if not args.default_politeness:
            env |= {"NEWSWATCH_PER_HOST": "8", "NEWSWATCH_MIN_DELAY": "0"}
        before = _cpu_of_servers()
        run = subprocess.run([sys.executable, "-c", BACKFILL, str(work / "sources.toml"), str(work / "news.db"),
                              str(SAMPLE_SECONDS), json.dumps(options)],
                             cwd=ROOT, env=env, capture_output=True, text=True)
        servers = {name: seconds - before.get(name, 0.0) for name, seconds in _cpu_of_servers().items()}
        if run.returncode:
            sys.exit(f"the backfill failed:\n{run.stderr[-3000:]}")
        c = json.loads(run.stdout.strip().splitlines()[-1])
        per_flow, per_task = prefect_costs()
    if not args.backfill_only:
        a_after = raw_extraction(args.pages)

    n = args.pages
    rate_c = n / c["wall"]
    politeness = "default politeness (2 at a time, 0.5 s apart)" if args.default_politeness else \
        "politeness relaxed (8 at a time, no delay)"
    print(f"{n} pages over {args.sites} sites, {politeness}{'; (c) from a WARC file' if args.warc else ''}, "
          f"{os.cpu_count()} cores")
    if not args.backfill_only:
        rate_a, rate_a_cores, rate_b = n / ((a + a_after) / 2), n / a_cores, n / b
        print(f"(a) trafilatura.extract alone, one process   {rate_a:7.1f} pages/s  ({a:.1f} s first, "
              f"{a_after:.1f} s last; the ratios use their mean)")
        print(f"(a') the same, one process per core           {rate_a_cores:7.1f} pages/s  ({a_cores:.1f} s; "
              f"{rate_a_cores / rate_a:.2f} x (a): what the cores allow)")
        print(f"(b) naive loop: httpx, trafilatura, insert    {rate_b:7.1f} pages/s  ({b:.1f} s)")
    print(f"(c) backfill flow                             {rate_c:7.1f} pages/s  ({c['wall']:.1f} s; "
          f"{c['new']} new, {c['duplicates']} duplicates, {c['failed']} failed)")
    if not args.backfill_only:
        print(f"(c)/(a) = {rate_c / rate_a:.2f}   (c)/(a') = {rate_c / rate_a_cores:.2f}   "
              f"(c)/(b) = {rate_c / rate_b:.2f}")
        drift = abs(a_after - a) / min(a, a_after)
        if drift > DRIFT_WARNING:
            print(f"the machine's speed moved by {drift:.0%} between the first and last (a): these ratios "
                  "are unreliable; compare runs whose two readings agree")
    print(f"peak RSS of (c): {c['peak_rss_mb']:.0f} MB in the flow process; {c['tree_peak_mb']:.0f} MB with its "
          f"extraction processes (PSS, sampled every {SAMPLE_SECONDS} s)")
    print(f"CPU of (c): {c['cpu_flow']:.1f} s in the flow process (fetch, dedup, store, Prefect), "
          f"{c['cpu_others']:.1f} s in its extraction processes; the {os.cpu_count()} cores had "
          f"{os.cpu_count() * c['wall']:.1f} s, which they shared with the site's server "
          f"({servers.get('site', 0.0):.1f} s), the Prefect API ({servers.get('Prefect API', 0.0):.1f} s) "
          f"and this benchmark's memory sampler ({c['cpu_sampler']:.1f} s)")
    print("where (c)'s time went (seconds of work; stages overlap, and extraction runs on every core):")
    for stage, seconds in c["seconds"].items():
        print(f"  {stage:<10} {seconds:7.1f} s")
    orchestration = per_flow + c["task_runs"] * per_task
    print(f"  orchestration: {c['task_runs']} task runs x {per_task * 1000:.2f} ms + flow {per_flow:.1f} s "
          f"= {orchestration:.1f} s, {100 * orchestration / c['wall']:.1f}% of the wall time")
    print(f"benchmark process peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
