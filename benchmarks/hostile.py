"""One monitor run against every hostile source at once: its peak memory, its wall time, and what
each source came to.

    python benchmarks/hostile.py [--json]

Loopback sites, each a host of its own, serve the demo's four sources and one source per hostile
behaviour: an endless robots.txt, compression bombs (br and gzip, 100 MB of zeros each), a page that
trickles in a byte at a time, a sitemap index fanning out to 8,421 sitemaps, a 300 KB run-on
sentence about the talks, feed items pointing at a cloud metadata address and a private one, an
XML entity bomb and a feed answering 500. `newswatch run` runs in a process of its own under a
Prefect API (PREFECT_API_URL, else a temporary one started here); its peak RSS is read from the
kernel when it exits. The deadlines are the environment's (NEWSWATCH_REQUEST_DEADLINE,
NEWSWATCH_SOURCE_DEADLINE), else the defaults.
"""

from __future__ import annotations

import argparse
import brotli
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks import private_prefect  # noqa: E402

private_prefect()

import seeds  # noqa: E402
from newswatch.loopback import LoopbackSite, Response  # noqa: E402
from storage import Store  # noqa: E402

ARTICLE = ("<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
           "<p>{text}</p></article></body></html>")
CALM = "The harbour council met on Tuesday to discuss the new ferry timetable and the budget for repairs. " * 5
RUN_ON = "the United States and Iran held talks in Oman, officials said, " * 5000  # 300 KB, no full stop


def _bomb(encoding: str, megabytes: int = 100) -> bytes:
    """``megabytes`` of zeros, compressed a megabyte at a time (never all in memory here)."""
    packer = brotli.Compressor(quality=1) if encoding == "br" else zlib.compressobj(6, zlib.DEFLATED, 31)
    pack, finish = (packer.process, packer.finish) if encoding == "br" else (packer.compress, packer.flush)
    return b"".join(pack(b"\0" * 2**20) for _ in range(megabytes)) + finish()


def _page(title: str, text: str = CALM) -> Response:
    return Response(ARTICLE.format(title=title, text=text).encode())


def _feed(items: list[tuple[str, str]]) -> Response:
    body = "".join(f"<item><title>{title}</title><link>{url}</link></item>" for title, url in items)
    return Response(f'<rss version="2.0"><channel><title>F</title>{body}</channel></rss>'.encode(),
                    "application/rss+xml")


def _endless(piece: bytes, pause: float = 0.0):
    def stream():
        for _ in range(10**9):
            if pause:
                time.sleep(pause)
            yield piece
    return stream


def _fan_out(site: LoopbackSite, path: str, level: int) -> None:
    """An index of 20 children at ``path``, three levels deep: 8,421 documents."""
    ns = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
    if level == 3:
        urls = "".join(f"<url><loc>{site.url(path[:-4])}-{n}.html</loc></url>" for n in range(30))
        site.routes[path] = Response(f"<urlset {ns}>{urls}</urlset>".encode(), "application/xml")
        return
    children = [f"{path[:-4]}-{n}.xml" for n in range(20)]
    items = "".join(f"<sitemap><loc>{site.url(c)}</loc></sitemap>" for c in children)
    site.routes[path] = Response(f"<sitemapindex {ns}>{items}</sitemapindex>".encode(), "application/xml")
    for child in children:
        _fan_out(site, child, level + 1)


ENTITY_BOMB = ('<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">'
               + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9))
               + ']><rss version="2.0"><channel><title>&j;</title><item><title>&j;</title>'
               '<link>http://127.0.0.1:9/x</link></item></channel></rss>').encode()


def hostile_sources(stack: contextlib.ExitStack) -> tuple[str, str]:
    """Serve every site; the sources file of the demo's sources alone (the baseline), and the one
    that lists them all."""
    def site() -> LoopbackSite:
        return stack.enter_context(LoopbackSite())

    demo = site()
    demo.routes = {path: Response(body, ctype) for path, (ctype, body) in seeds.demo_site(demo.base_url).items()}
    entries = [seeds.demo_sources_toml(demo.base_url)]

    def add(name: str, served: LoopbackSite, kind: str = "feed", path: str = "/feed.xml") -> None:
        entries.append(f'[[sources]]\nname = "{name}"\n{kind} = "{served.url(path)}"\n')

    robots = site()
    robots.routes.update({"/robots.txt": Response(content_type="text/plain", stream=_endless(b"Allow: /\n" * 1000)),
                          "/a.html": _page("Ferry timetable"), "/b.html": _page("Repairs budget")})
    robots.routes["/feed.xml"] = _feed([("A", robots.url("/a.html")), ("B", robots.url("/b.html"))])
    add("endless robots.txt", robots)

    bombs = site()
    bombs.routes.update({
        "/br.html": Response(_bomb("br"), headers={"Content-Encoding": "br"}),
        "/gz.html": Response(_bomb("gzip"), headers={"Content-Encoding": "gzip"})})
    bombs.routes["/feed.xml"] = _feed([("br", bombs.url("/br.html")), ("gz", bombs.url("/gz.html"))])
    add("compression bombs", bombs)

    trickle = site()
    trickle.routes["/slow.html"] = Response(stream=_endless(b"<", pause=0.5))
    trickle.routes["/feed.xml"] = _feed([("Slow", trickle.url("/slow.html"))])
    add("trickling page", trickle)

    fan = site()
    _fan_out(fan, "/sitemap.xml", 0)
    add("sitemap fan-out", fan, "sitemap", "/sitemap.xml")

    run_on = site()
    run_on.routes["/talks.html"] = _page("Talks in Oman", "Officials said " + RUN_ON + "and more will follow.")
    run_on.routes["/feed.xml"] = _feed([("Talks", run_on.url("/talks.html"))])
    add("run-on sentence", run_on)

    steered = site()
    steered.routes["/feed.xml"] = _feed([("Metadata", "http://169.254.169.254/latest/meta-data/"),
                                         ("Intranet", "http://10.255.255.1/wiki")])
    add("private addresses", steered)

    entity = site()
    entity.routes["/feed.xml"] = Response(ENTITY_BOMB, "application/rss+xml")
    add("entity bomb", entity)

    broken = site()
    broken.routes["/feed.xml"] = Response(b"oops", "text/plain", status=500)
    add("server error", broken)
    return entries[0], "\n".join(entries)


def _high_water_kb(pid: int) -> int:
    """The process's peak resident memory so far (VmHWM), in kB; 0 once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    return next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), 0)


def _peak_memory_until_exit(process: subprocess.Popen) -> dict[int, int]:
    """{pid: peak RSS in kB} of the process and its descendants, read every 0.1 s until it exits.
    Not the kernel's ru_maxrss: a child forked from this process would count this one's memory too."""
    import psutil

    peaks: dict[int, int] = {}
    while process.poll() is None:
        with contextlib.suppress(psutil.Error):
            for pid in [process.pid, *(child.pid for child in psutil.Process(process.pid).children(recursive=True))]:
                peaks[pid] = max(peaks.get(pid, 0), _high_water_kb(pid))
        time.sleep(0.1)
    return peaks


def monitor_run(work: Path, sources: str, api_url: str) -> dict:
    """`newswatch run` once over ``sources`` (a TOML text), in a process of its own, with a store of its
    own in ``work``: exit code, wall time, peak RSS, and the store's articles and source health after it."""
    work.mkdir()
    (work / "sources.toml").write_text(sources)
    env = {**os.environ, "PREFECT_API_URL": api_url, "NEWSWATCH_PRIVATE_HOSTS": "127.0.0.1"}
    command = [sys.executable, "-m", "newswatch", "run", "--sources", str(work / "sources.toml"),
               "--db", str(work / "news.db"), "--alert-mode", "none"]
    started = time.monotonic()
    with open(work / "run.log", "wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        peaks = _peak_memory_until_exit(process)
    wall = time.monotonic() - started

    with Store(work / "news.db", read_only=True) as store:
        articles, health = list(store.articles()), store.source_health()
    return {"exit_code": process.returncode, "wall_s": wall, "peak_rss_mb": peaks[process.pid] / 1024,
            "peak_rss_helpers_mb": max((kb for pid, kb in peaks.items() if pid != process.pid), default=0) / 1024,
            "stored": sorted(a["source"] for a in articles),
            "flagged": sorted(a["source"] for a in articles if a["flagged"]),
            "sources": {row["source"]: row["last_error"] for row in health},
            "log_tail": (work / "run.log").read_text(errors="replace")[-2000:]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    parser.add_argument("--no-baseline", action="store_true", help="skip the run over the demo's sources alone")
    args = parser.parse_args()
    from pipeline import load_settings

    settings = load_settings()
    work = Path(tempfile.mkdtemp(prefix="newswatch-hostile-"))
    with contextlib.ExitStack() as stack:
        baseline_sources, hostile = hostile_sources(stack)
        api_url = os.environ.get("PREFECT_API_URL")
        if not api_url:
            from prefect.settings import PREFECT_API_URL
            from prefect.testing.utilities import prefect_test_harness

            stack.enter_context(prefect_test_harness(server_startup_timeout=120))
            api_url = PREFECT_API_URL.value()
        baseline = None if args.no_baseline else monitor_run(work / "baseline", baseline_sources, api_url)
        result = monitor_run(work / "hostile", hostile, api_url)
    result.update(request_deadline_s=settings.request_deadline, source_deadline_s=settings.source_deadline)
    if args.json or not baseline:
        print(json.dumps(result))
        return
    print(f"newswatch run against {len(result['sources'])} sources, {len(result['sources']) - 2} of them hostile "
          f"(deadlines: {settings.request_deadline:g} s a request, {settings.source_deadline:g} s a source)")
    print(f"  exit code {result['exit_code']}, {result['wall_s']:.1f} s, peak RSS {result['peak_rss_mb']:.0f} MB "
          f"({result['peak_rss_mb'] / baseline['peak_rss_mb']:.2f}x the demo's sources alone: "
          f"{baseline['peak_rss_mb']:.0f} MB, {baseline['wall_s']:.1f} s)")
    print(f"  stored {len(result['stored'])} articles, {len(result['flagged'])} flagged")
    for source, error in result["sources"].items():
        print(f"  {source:<24} {error or 'ok'}"[:150])


if __name__ == "__main__":
    main()
