"""Loopback news sites for throughput benchmarks: N article pages built from real pages, shared out
among one or more sites (each on a port of its own: a host of its own to politeness), each with a
sitemap and a feed over its pages, served by real HTTP servers in a process of their own.

    python benchmarks/site.py --pages 2000 [--sites 16]    # serve until interrupted, printing a sources file

The pages are the Article Extraction Benchmark's dev pages (../shared/datasets/aeb-dev), the
seeds demo site's articles and one markets story whose only word of US–Iran talks is a sentence of
its body (as real news often has: the flow then loads the semantic second opinion, as a real
backfill does), over and over, each at a URL of its own. Every tenth copy is a near
duplicate (its original with one sentence added), as a syndicated story is; the other copies have
the letters of their text permuted (but for short texts with a year: their dates), so that they
read as distinct articles of the same shape and length to extraction, deduplication and detection.
"""

from __future__ import annotations

import argparse
import gzip
import multiprocessing
import random
import re
import string
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

from lxml import etree
from lxml import html as lxml_html

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATASETS = ROOT.parent / "shared" / "datasets"
FIRST_DAY = date(2024, 1, 1)
SKIPPED_TAGS = {"script", "style", "noscript"}
# A short text with a year is a date, and stays readable in a copy, as a real article's date is. A
# permuted date ("Djejgi 13, 2018") is none that a real page shows, and sends htmldate to
# dateparser's search of every locale: about 50 ms a page, more than the rest of its extraction.
_DATE_LIKE = re.compile(r"\b(19|20)\d\d\b")
_DATE_WORDS = 8


MARKETS_STORY = b"""<!DOCTYPE html><html lang="en"><head><title>Oil slips as supply worries ease</title>
<meta property="article:published_time" content="2024-05-14T09:00:00Z"></head><body><article>
<h1>Oil slips as supply worries ease</h1>
<p>Brent crude fell 1 percent on Tuesday as inventories in the United States rose for a second week
and refiners in Asia cut their purchases for June.</p>
<p>Traders said sentiment shifted after reports that Iranian and American negotiators would meet
again in Muscat next week.</p>
<p>Prices had climbed for most of the month on worries about shipping through the Strait of Hormuz,
where tanker rates reached their highest level since January. Analysts expect demand to recover in
the summer driving season, when refinery runs usually peak.</p>
</article></body></html>"""


def real_pages(datasets: Path = DATASETS) -> list[bytes]:
    """The real pages copies are made of: aeb-dev, the seeds demo site's articles, the markets story."""
    import seeds

    pages = [gzip.decompress(p.read_bytes()) for p in sorted((datasets / "aeb-dev" / "html").glob("*.html.gz"))]
    pages += [body for path, (ctype, body) in sorted(seeds.demo_site("http://seeds.example").items())
              if ctype.startswith("text/html") and path.endswith(".html")]
    return pages + [MARKETS_STORY]


def _text_nodes(tree) -> Iterator[tuple[object, str]]:
    for element in tree.iter():
        if not isinstance(element.tag, str) or element.tag in SKIPPED_TAGS:
            continue
        yield element, "text"
        yield element, "tail"


def variant(page: bytes, copy: int) -> bytes:
    """Copy ``copy`` of a page: the page itself (0), a near duplicate (every tenth), or a distinct
    article of the same shape (its letters permuted by a key of this copy)."""
    if copy == 0:
        return page
    tree = lxml_html.fromstring(page)
    # A copy is a page of its own: the original's canonical URL would make every copy a duplicate.
    for node in tree.xpath("//link[@rel='canonical'] | //meta[@property='og:url']"):
        node.getparent().remove(node)
    if copy % 10 == 1:
        longest = max(tree.iter("p"), key=lambda p: len(p.text_content()), default=None)
        if longest is not None:
            longest.text = f"Update {copy}: this version adds one sentence. " + (longest.text or "")
        return etree.tostring(tree, encoding="utf-8", doctype="<!DOCTYPE html>")
    permute_letters(tree, copy, keep=_is_date_like)
    return etree.tostring(tree, encoding="utf-8", doctype="<!DOCTYPE html>")


def _is_date_like(text: str) -> bool:
    return len(text.split()) <= _DATE_WORDS and _DATE_LIKE.search(text) is not None


def permute_letters(tree, key: int, keep: Callable[[str], bool] = lambda text: False) -> None:
    """Permute the letters of the tree's text in place, by a permutation drawn from ``key``: a-z among
    themselves (case kept), and the page's other letters (accented, Cyrillic, Arabic, kana, kanji...)
    among themselves. Text nodes for which ``keep`` is true stay as they are."""
    nodes = [(element, attribute) for element, attribute in _text_nodes(tree)
             if (getattr(element, attribute) or "").strip() and not keep(getattr(element, attribute))]
    shuffle = random.Random(key).shuffle
    latin = list(string.ascii_lowercase)
    shuffle(latin)
    others = sorted({c for e, a in nodes for c in getattr(e, a) if c.isalpha() and c not in string.ascii_letters})
    others_permuted = others.copy()
    shuffle(others_permuted)
    table = str.maketrans(string.ascii_lowercase + string.ascii_uppercase + "".join(others),
                          "".join(latin) + "".join(latin).upper() + "".join(others_permuted))
    for element, attribute in nodes:
        setattr(element, attribute, getattr(element, attribute).translate(table))


def page_path(number: int) -> str:
    return f"/news/{number:06d}.html"


def page_day(number: int) -> date:
    return FIRST_DAY + timedelta(days=number % 366)


def build_pages(count: int, datasets: Path = DATASETS, *, share: int = 0,
                shares: int = 1) -> Iterator[tuple[str, bytes]]:
    """(path, HTML) of each of ``count`` article pages, made one at a time; with ``shares``, only
    those of one share: every ``shares``-th page from page ``share``."""
    originals = real_pages(datasets)
    for number in range(share, count, shares):
        yield page_path(number), variant(originals[number % len(originals)], number // len(originals))


def sitemap(base_url: str, numbers: range) -> bytes:
    entries = "".join(f"<url><loc>{base_url}{page_path(n)}</loc><lastmod>{page_day(n)}</lastmod></url>"
                      for n in numbers)
    return ('<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"{entries}</urlset>").encode()


def feed(base_url: str, count: int, latest: int = 50) -> bytes:
    items = "".join(f"<item><title>Story {n}</title><link>{base_url}{page_path(n)}</link>"
                    f"<pubDate>{page_day(n):%a, %d %b %Y} 08:00:00 +0000</pubDate></item>"
                    for n in range(max(0, count - latest), count))
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Bench</title>{items}</channel></rss>'.encode()


def _serve(count: int, ports: list[int], ready, datasets: Path) -> None:
    import time
    from contextlib import ExitStack

    from newswatch.loopback import LoopbackSite, Response

    with ExitStack() as stack:
        sites = [stack.enter_context(LoopbackSite(port=port)) for port in ports]
        for number, (path, body) in enumerate(build_pages(count, datasets)):
            sites[number % len(sites)].routes[path] = Response(body)
        for share, site in enumerate(sites):
            numbers = range(share, count, len(sites))
            site.routes["/sitemap.xml"] = Response(sitemap(site.base_url, numbers), "application/xml")
            site.routes["/feed.xml"] = Response(feed(site.base_url, count), "application/rss+xml")
        ready.set()
        while True:
            time.sleep(3600)


@contextmanager
def served_site(count: int, datasets: Path = DATASETS, *, sites: int = 1) -> Iterator[list[str]]:
    """Serve ``count`` pages, page n on site n % ``sites``, from a process of their own; yields the
    sites' base URLs."""
    from newswatch.loopback import free_port

    ports = [free_port() for _ in range(sites)]
    ready = multiprocessing.get_context("spawn").Event()
    process = multiprocessing.get_context("spawn").Process(target=_serve, args=(count, ports, ready, datasets),
                                                           daemon=True)
    process.start()
    try:
        while not ready.wait(0.5):
            if not process.is_alive():
                raise RuntimeError(f"the benchmark site process exited ({process.exitcode})")
        yield [f"http://127.0.0.1:{port}" for port in ports]
    finally:
        process.terminate()
        process.join()


def sources_toml(base_urls: list[str]) -> str:
    return "".join(f'[[sources]]\nname = "Bench site {n}"\nsitemap = "{base_url}/sitemap.xml"\n'
                   for n, base_url in enumerate(base_urls))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--sites", type=int, default=1)
    parser.add_argument("--datasets", type=Path, default=DATASETS)
    args = parser.parse_args()
    with served_site(args.pages, args.datasets, sites=args.sites) as base_urls:
        print(f"{args.pages} pages at {', '.join(base_urls)}; sources file:\n\n{sources_toml(base_urls)}", flush=True)
        try:
            multiprocessing.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
