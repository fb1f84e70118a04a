"""Hostile sources against a loopback server: endless, trickling, compressed-bomb and fan-out answers,
and requests steered at private addresses. Each is a failure of that URL or source alone."""

import gzip
import time
import tracemalloc
import zlib
from dataclasses import replace

import brotli
import pytest

from newswatch.loopback import LoopbackSite, Response
from sources import FetchedPage, FetchFailure, FetchSettings, Source, SourceError, discover, fetch_pages
from sources._guard import blocked_reason

FAST = FetchSettings(connect_timeout=2, read_timeout=2, max_bytes=100_000, retry_base_delay=0.05, min_delay=0,
                     private_hosts=("127.0.0.1",))
ARTICLE = b"<html><body><p>An article.</p></body></html>"


class Endless:
    """A body that never ends: counts what it sent, so a test can tell the client stopped reading."""

    def __init__(self, piece: bytes, pause: float = 0.0, limit: int = 200_000_000):
        self.piece, self.pause, self.limit, self.sent = piece, pause, limit, 0

    def __call__(self):
        while self.sent < self.limit:  # a bound, so that a client that never stops cannot hang the test run
            if self.pause:
                time.sleep(self.pause)
            self.sent += len(self.piece)
            yield self.piece


def test_an_endless_robots_txt_is_read_to_its_limit_only():
    robots = Endless(b"User-agent: *\nDisallow: /private/\n" * 1000)
    routes = {"/robots.txt": Response(content_type="text/plain", stream=robots), "/a.html": Response(ARTICLE),
              "/private/b.html": Response(ARTICLE)}
    with LoopbackSite(routes) as site:
        allowed, private = fetch_pages([site.url("/a.html"), site.url("/private/b.html")], FAST)
    assert isinstance(allowed, FetchedPage)
    assert private.reason == "disallowed by robots.txt"  # the rules within the limit still count
    assert robots.sent < 20 * FAST.max_robots_bytes  # it stopped reading, give or take the socket's buffers


def _bomb(encoding: str, size: int = 50_000_000) -> bytes:
    zeros = b"\0" * size
    if encoding == "br":
        return brotli.compress(zeros, quality=1)
    if encoding == "deflate":
        return zlib.compress(zeros, 9)
    return gzip.compress(zeros, 9)


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br", "gzip, gzip"])
def test_a_compression_bomb_is_cut_at_the_size_limit_as_it_is_decoded(encoding):
    body = _bomb(encoding.split(",")[0])
    if encoding == "gzip, gzip":
        body = gzip.compress(body)
    routes = {"/bomb.html": Response(body, headers={"Content-Encoding": encoding})}
    with LoopbackSite(routes) as site:
        tracemalloc.start()
        try:
            (page,) = fetch_pages([site.url("/bomb.html")], FAST, respect_robots=False)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert page.reason == f"body too large: over {FAST.max_bytes} bytes"
    assert peak < 20_000_000  # 50 MB unpacked in one piece before: now pieces of 64 KB


def test_compressed_pages_still_arrive_whole():
    routes = {"/gz.html": Response(gzip.compress(ARTICLE), headers={"Content-Encoding": "gzip"}),
              "/br.html": Response(brotli.compress(ARTICLE), headers={"Content-Encoding": "br"}),
              "/raw-deflate.html": Response(zlib.compress(ARTICLE)[2:-4], headers={"Content-Encoding": "deflate"}),
              "/odd.html": Response(ARTICLE, headers={"Content-Encoding": "compress"}),
              "/broken.html": Response(b"\x1f\x8b\x08\x00garbage", headers={"Content-Encoding": "gzip"}),
              "/empty.html": Response(b"", headers={"Content-Encoding": "gzip"})}
    with LoopbackSite(routes) as site:
        pages = dict(zip(routes, fetch_pages([site.url(p) for p in routes], FAST, respect_robots=False), strict=True))
    assert [pages[p].body for p in ("/gz.html", "/br.html", "/raw-deflate.html")] == [ARTICLE] * 3
    assert pages["/odd.html"].reason == "unsupported Content-Encoding 'compress'"
    assert pages["/broken.html"].reason == "truncated compressed body"
    assert pages["/empty.html"].body == b""  # no body, whatever the header says


def test_a_trickling_body_meets_the_request_deadline():
    drip = Endless(b"<", pause=0.1, limit=300)  # a byte every 0.1 s: never idle long enough for a read timeout
    with LoopbackSite({"/slow.html": Response(stream=drip)}) as site:
        started = time.monotonic()
        (page,) = fetch_pages([site.url("/slow.html")], replace(FAST, request_deadline=1), respect_robots=False)
    assert page.reason == "no complete answer within 1 s"
    assert time.monotonic() - started < 5


def test_what_a_batch_cannot_fetch_by_its_deadline_fails_and_the_rest_is_kept():
    routes = {f"/{n}.html": Response(ARTICLE, delay=0.4) for n in range(6)}
    settings = replace(FAST, per_host=1, source_deadline=1.0)
    with LoopbackSite(routes) as site:
        started = time.monotonic()
        results = fetch_pages([site.url(p) for p in routes], settings, respect_robots=False)
    assert time.monotonic() - started < 3
    fetched = [r for r in results if isinstance(r, FetchedPage)]
    late = [r for r in results if isinstance(r, FetchFailure)]
    assert fetched and late and len(fetched) + len(late) == 6
    assert all(r.reason == "not fetched: the 1 s deadline for the batch passed" for r in late)


def test_a_feed_that_never_finishes_is_that_source_s_error():
    drip = Endless(b" ", pause=0.1, limit=300)
    with LoopbackSite({"/feed.xml": Response(content_type="application/rss+xml", stream=drip)}) as site:
        with pytest.raises(SourceError, match="took over 1 s"):
            discover(Source("Trickle", feed=site.url("/feed.xml")), replace(FAST, source_deadline=1))


def _index(children: list[str]) -> bytes:
    items = "".join(f"<sitemap><loc>{c}</loc></sitemap>" for c in children)
    return f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{items}</sitemapindex>'.encode()


def _urlset(urls: list[str]) -> bytes:
    items = "".join(f"<url><loc>{u}</loc></url>" for u in urls)
    return f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{items}</urlset>'.encode()


def _fan_out(site: LoopbackSite, path: str, level: int) -> None:
    """An index of 20 children at ``path``, 3 levels deep (8,421 documents), sitemaps of 30 pages below."""
    if level == 3:
        site.routes[path] = Response(_urlset([site.url(f"{path[:-4]}-{n}.html") for n in range(30)]), "application/xml")
        return
    children = [f"{path[:-4]}-{n}.xml" for n in range(20)]
    site.routes[path] = Response(_index([site.url(c) for c in children]), "application/xml")
    for child in children:
        _fan_out(site, child, level + 1)


def test_sitemap_fan_out_is_capped_per_source(caplog):
    with LoopbackSite() as site:
        _fan_out(site, "/sitemap.xml", 0)
        source = Source("Fan", sitemap=site.url("/sitemap.xml"))
        assert discover(source, replace(FAST, max_sitemaps=25)).entries == []  # breadth first: indexes only
        assert len(site.requests) == 25
        site.requests.clear()
        entries = discover(source, replace(FAST, max_sitemaps=1000, max_entries=10)).entries
        # The first 421 documents are indexes; the first sitemap of pages fills the entries.
        assert len(site.requests) == 422
    assert len(entries) == 10
    assert "stopped at 25 sitemaps and 0 entries" in caplog.text
    assert "stopped at 422 sitemaps and 10 entries" in caplog.text


def test_each_sitemap_is_read_once_and_only_http_locations_of_a_sane_length_are_followed():
    with LoopbackSite() as site:
        site.routes["/sitemap.xml"] = Response(_index([site.url("/sitemap.xml"), site.url("/news.xml"),
                                                       "file:///etc/passwd", "ftp://example.org/s.xml"]),
                                               "application/xml")
        site.routes["/news.xml"] = Response(_index([site.url("/sitemap.xml"), site.url("/news.xml")]), "application/xml")
        site.routes["/news.xml"].body = site.routes["/news.xml"].body.replace(
            b"</sitemapindex>", f"<url><loc>{site.url('/a.html')}</loc></url>"
                                "<url><loc>javascript:alert(1)</loc></url>"
                                f"<url><loc>{site.url('/' + 'x' * 3000)}</loc></url></sitemapindex>".encode())
        entries = discover(Source("Loop", sitemap=site.url("/sitemap.xml")), FAST).entries
        paths = [r.path for r in site.requests]
    assert [e.url for e in entries] == [site.url("/a.html")]
    assert paths.count("/sitemap.xml") == 1 and paths.count("/news.xml") == 1


@pytest.mark.parametrize("addresses, kind", [
    (["127.0.0.1"], "loopback"), (["::1"], "loopback"), (["169.254.169.254"], "link-local"),
    (["10.1.2.3"], "private"), (["192.168.0.7"], "private"), (["::ffff:127.0.0.1"], "loopback"),
    (["fd00::1"], "private"), (["100.64.0.1"], "non-public"), (["0.0.0.0"], "unspecified"),
    (["93.184.215.14", "10.0.0.1"], "private"),  # one private address among public ones is enough
])
def test_private_addresses_are_blocked(addresses, kind):
    assert f"not a public address ({kind})" in blocked_reason("host.example", addresses)


def test_public_addresses_are_not_blocked():
    assert blocked_reason("example.org", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]) is None


def test_requests_to_unlisted_private_hosts_are_refused_after_dns_and_redirects():
    settings = replace(FAST, private_hosts=("localhost",))  # the name is listed, not its address
    with LoopbackSite() as site:
        by_name = site.base_url.replace("127.0.0.1", "localhost")
        site.routes["/a.html"] = Response(ARTICLE)
        site.routes["/to-address"] = Response(status=302, headers={"Location": site.url("/a.html")})
        site.routes["/to-metadata"] = Response(status=302, headers={"Location": "http://169.254.169.254/latest/"})
        listed, redirected, metadata, by_address = fetch_pages(
            [f"{by_name}/a.html", f"{by_name}/to-address", f"{by_name}/to-metadata", site.url("/a.html")], settings,
            respect_robots=False)
        served = [r.path for r in site.requests]
    assert isinstance(listed, FetchedPage)
    assert redirected.reason.startswith("blocked: 127.0.0.1 is at 127.0.0.1, not a public address (loopback)")
    assert metadata.reason.startswith("blocked: 169.254.169.254 is at 169.254.169.254")
    assert by_address.reason.startswith("blocked: 127.0.0.1 is at 127.0.0.1")
    assert "NEWSWATCH_PRIVATE_HOSTS" in by_address.reason
    assert served.count("/a.html") == 1  # only the listed host's request reached the page


def test_the_sources_file_s_hosts_are_trusted_but_not_the_private_addresses_a_feed_names(tmp_path):
    """No setting: the host the user wrote (localhost) is fetched from although loopback; the feed's
    items on other names of private addresses (127.0.0.1, the same machine) are not."""
    from helpers import run_monitor

    feed = ('<rss version="2.0"><channel><title>F</title>'
            '<item><title>Inside</title><link>{base}/a.html</link></item>'
            '<item><title>Meta</title><link>http://169.254.169.254/latest/meta-data</link></item>'
            '</channel></rss>')
    with LoopbackSite({"/a.html": Response(ARTICLE)}) as site:
        site.routes["/feed.xml"] = Response(feed.format(base=site.base_url).encode(), "application/rss+xml")
        sources = tmp_path / "sources.toml"
        feed_url = site.url("/feed.xml").replace("127.0.0.1", "localhost")
        sources.write_text(f'[[sources]]\nname = "Steered"\nfeed = "{feed_url}"\n')
        summary = run_monitor(sources, tmp_path / "store.db", alert_mode="none")
        served = [r.path for r in site.requests]
    assert summary.fetched == 0 and len(summary.failures) == 2, summary.failures
    assert all("blocked:" in reason for _, reason in summary.failures)
    assert "/feed.xml" in served and "/a.html" not in served


def test_a_listed_network_allows_its_addresses_only():
    with LoopbackSite({"/a.html": Response(ARTICLE)}) as site:
        (inside,) = fetch_pages([site.url("/a.html")], replace(FAST, private_hosts=("127.0.0.0/8",)),
                                respect_robots=False)
        (outside,) = fetch_pages([site.url("/a.html")], replace(FAST, private_hosts=("10.0.0.0/8",)),
                                 respect_robots=False)
    assert isinstance(inside, FetchedPage)
    assert outside.reason.startswith("blocked: 127.0.0.1 is at 127.0.0.1")

