"""Monitor tick cost over many feeds: when nothing changed (all 304) and when 10% of feeds have news.

    python benchmarks/fetch.py [--feeds 200] [--entries 20]

Loopback news sites run in their own process: N feeds of M entries each, each feed on a host
of its own (127.0.0.2, 127.0.0.3, ...: per-host politeness applies as with real sources), with ETags. The store
starts out holding every entry (as after earlier runs), so the ticks measure discovery, not a
first crawl. Flow time is the wall time of one `monitor` call with the Prefect API already up.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks import loopback_sources, private_prefect  # noqa: E402

private_prefect()
loopback_sources()

ARTICLE = ("<html lang='en'><head><title>{title}</title></head><body><article><h1>{title}</h1>"
           + "<p>Diplomats from both countries met on Saturday for another round of talks, officials said. "
             "The delegations sat in separate rooms while mediators carried messages between them.</p>" * 4
           + "</article></body></html>")


def feed(base: str, feed_id: int, entries: int, extra: bool) -> bytes:
    items = [(f"/f{feed_id}/new.html", "A new story") if extra else None]
    items += [(f"/f{feed_id}/a{j}.html", f"Story {j} of feed {feed_id}") for j in range(entries)]
    body = "".join(f"<item><title>{title}</title><link>{base}{path}</link><guid>{base}{path}</guid></item>"
                   for path, title in filter(None, items))
    channel = f"<channel><title>Feed {feed_id}</title>{body}</channel>"
    return f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'.encode()


def host_of(feed_id: int) -> str:
    """Each feed on a host of its own, as real sources are: 127.0.0.2, 127.0.0.3, ... (all loopback)."""
    return f"127.0.{(feed_id + 2) // 256}.{(feed_id + 2) % 256}"


def serve(port: int, feeds: int, entries: int, news: multiprocessing.Value, ready) -> None:
    """The site process: one small site per host, each with a feed (with news once ``news`` says so)."""
    from contextlib import ExitStack

    from newswatch.loopback import LoopbackSite, Response

    with ExitStack() as stack:
        sites = [stack.enter_context(LoopbackSite(port=port, host=host_of(i))) for i in range(feeds)]
        for i, site in enumerate(sites):
            site.routes["/feed.xml"] = Response(feed(site.base_url, i, entries, False), "application/rss+xml")
            site.routes[f"/f{i}/new.html"] = Response(ARTICLE.format(title=f"News from feed {i}").encode())
        ready.set()
        changed = False
        while True:
            if news.value and not changed:
                for i in range(news.value):
                    sites[i].routes["/feed.xml"] = Response(feed(sites[i].base_url, i, entries, True),
                                                            "application/rss+xml")
                changed = True
            time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--entries", type=int, default=20)
    args = parser.parse_args()

    from prefect.testing.utilities import prefect_test_harness
    from pydantic import SecretStr  # noqa: F401  (the flow's parameter type)

    from detectors import Detection
    from extractors import Article
    from flows import monitor
    from newswatch.loopback import free_port
    from storage import Store

    port, news, ready = free_port(), multiprocessing.Value("i", 0), multiprocessing.Event()
    site = multiprocessing.Process(target=serve, args=(port, args.feeds, args.entries, news, ready), daemon=True)
    site.start()
    ready.wait(60)
    work = Path(tempfile.mkdtemp(prefix="newswatch-bench-"))
    sources = work / "sources.toml"
    sources.write_text("".join(f'[[sources]]\nname = "Feed {i}"\nfeed = "http://{host_of(i)}:{port}/feed.xml"\n\n'
                               for i in range(args.feeds)))
    db = work / "news.db"
    started = time.perf_counter()
    with Store(db) as store:  # every entry is known, as after earlier runs
        quiet = Detection("us-iran-talks", False, 0.0)
        for i in range(args.feeds):
            for j in range(args.entries):
                url = f"http://{host_of(i)}:{port}/f{i}/a{j}.html"
                store.save_article(Article(url=url, canonical_url=url, title=f"Story {j}", text=f"Story {j} of {i}."),
                                   quiet, source=f"Feed {i}")
    print(f"{args.feeds} feeds x {args.entries} entries; store filled in {time.perf_counter() - started:.1f} s")

    def tick(label: str) -> None:
        started = time.perf_counter()
        summary = monitor(sources_file=str(sources), db_path=str(db))
        elapsed = time.perf_counter() - started
        print(f"{label:<42} {elapsed:6.2f} s   announced {summary.announced:5}, fetched {summary.fetched:4}, "
              f"failed {len(summary.failures)}")

    with prefect_test_harness(server_startup_timeout=120):
        tick("first tick (feeds 200 OK, entries known)")
        tick("unchanged tick (all 304)")
        news.value = max(1, args.feeds // 10)
        time.sleep(0.5)
        tick(f"tick with news in {news.value} feeds (10%)")
        tick("unchanged tick again")
    site.terminate()


if __name__ == "__main__":
    main()
