from dataclasses import replace
import time

import pytest

from newswatch.loopback import LoopbackSite, Response, free_port
from sources import FetchedPage, FetchFailure, FetchSettings, Source, SourceError, discover, fetch_pages, load_sources

FAST = FetchSettings(connect_timeout=1, read_timeout=1, max_bytes=10_000, retry_base_delay=0.05, min_delay=0,
                     private_hosts=("127.0.0.1",))


def test_default_sources_file_loads():
    import seeds

    loaded = load_sources(seeds.SOURCES_FILE)
    assert loaded and all(s.feed.startswith("https://") for s in loaded)


@pytest.mark.parametrize("content, message", [
    ("", "no \\[\\[sources\\]\\]"),
    ("[[sources]]\nfeed = 'https://a.example/feed'\n", "needs a name"),
    ("[[sources]]\nname = 'A'\n", "exactly one of feed, sitemap, pages, homepage or cdx"),
    ("[[sources]]\nname = 'A'\nfeed = 'https://a/f'\nsitemap = 'https://a/s'\n", "exactly one"),
    ("[[sources]]\nname = 'A'\nfeed = 'ftp://a.example/feed'\n", "not an http"),
    ("[[sources]]\nname = 'A'\npages = 'https://a.example/1'\n", "list of URLs"),
    ("[[sources]]\nname = 'A'\nfeed = 'https://a/f'\n[[sources]]\nname = 'A'\nfeed = 'https://a/g'\n", "used twice"),
    ("[[sources]\nname = 'A'", "not valid TOML"),
    ("[[sources]]\nname = 'A'\nhomepgae = 'https://a.example/'\n", "source #1 \\(A\\): unknown key 'homepgae'"),
    ("sources = ['https://a.example/feed']\n", "source #1 is 'https://a.example/feed', not a \\[\\[sources\\]\\] table"),
    ("feeds = 1\n[[sources]]\nname = 'A'\nfeed = 'https://a/f'\n", "unknown top-level key 'feeds'"),
    ("[[sources]]\nname = 'A'\nfeed = 3\n", "3 is not an http"),
])
def test_bad_sources_file(tmp_path, content, message):
    path = tmp_path / "sources.toml"
    path.write_text(content)
    with pytest.raises(ValueError, match=message):
        load_sources(path)


def test_a_binary_sources_file_is_named(tmp_path):
    path = tmp_path / "sources.toml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff")
    with pytest.raises(ValueError, match="sources.toml: not valid TOML"):
        load_sources(path)


def test_missing_sources_file(tmp_path):
    with pytest.raises(ValueError, match="missing.toml: cannot read the sources file"):
        load_sources(tmp_path / "missing.toml")


def test_rss_and_atom_feeds(site):
    rss = discover(Source("Review", feed=site.url("/review/feed.xml")), FAST).entries
    atom = discover(Source("Daily", feed=site.url("/daily/atom.xml")), FAST).entries
    assert [e.url.rsplit("/", 1)[1] for e in rss] == [
        "diplomacy-watch-russia-ukraine-deal-2022.html", "rouhani-tokyo-trip-us-iran-talks.html"]
    assert all(e.url.startswith(site.base_url) for e in rss + atom)
    assert atom[1].title == "Iran: We Rejected Trump's Push For A Secret Face To Face Meeting"
    assert atom[1].guid and atom[1].updated


def test_page_list_needs_no_request():
    entries = discover(Source("Picked", pages=("https://a.example/1", "https://a.example/2")), FAST).entries
    assert [e.url for e in entries] == ["https://a.example/1", "https://a.example/2"]


def test_sitemap_index_with_children():
    urlset = ('<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
              '<url><loc>{base}/a.html</loc><lastmod>2024-04-19</lastmod></url>'
              '<url><loc>{base}/b.html</loc></url></urlset>')
    with LoopbackSite() as site:
        index = ('<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                 f'<sitemap><loc>{site.base_url}/news.xml</loc></sitemap></sitemapindex>')
        site.routes["/sitemap.xml"] = Response(index.encode(), "application/xml")
        site.routes["/news.xml"] = Response(urlset.format(base=site.base_url).encode(), "application/xml")
        entries = discover(Source("Maps", sitemap=site.url("/sitemap.xml")), FAST).entries
    assert [e.url for e in entries] == [site.url("/a.html"), site.url("/b.html")]
    assert entries[0].updated == "2024-04-19"


@pytest.mark.parametrize("body", [b"<rss><channel><item><title>cut off", b"<html><body>Not a feed</body></html>"])
def test_unreadable_feed_is_an_error(body):
    with LoopbackSite({"/feed.xml": Response(body, "application/xml")}) as site:
        with pytest.raises(SourceError, match="unreadable feed"):
            discover(Source("Broken", feed=site.url("/feed.xml")), FAST)


def test_empty_but_valid_feed_is_not_an_error():
    feed = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Quiet</title></channel></rss>'
    with LoopbackSite({"/feed.xml": Response(feed, "application/rss+xml")}) as site:
        assert discover(Source("Quiet", feed=site.url("/feed.xml")), FAST).entries == []


def test_feed_server_error_is_an_error():
    with LoopbackSite({"/feed.xml": Response(b"oops", "text/plain", status=503)}) as site:
        with pytest.raises(SourceError, match="HTTP 503"):
            discover(Source("Down", feed=site.url("/feed.xml")), FAST)


def test_every_fetch_failure_has_a_reason():
    routes = {
        "/ok": Response(b"<html><body><p>fine</p></body></html>"),
        "/error": Response(b"oops", status=500),
        "/missing": Response(b"gone", status=404),
        "/slow": Response(b"<p>late</p>", delay=2.5),
        "/pdf": Response(b"%PDF-1.7", "application/pdf"),
        "/huge": Response(b"<p>" + b"x" * 20_000 + b"</p>"),
        "/loop": Response(b"", status=302, headers={"Location": "/loop"}),
    }
    with LoopbackSite(routes) as site:
        dead = f"http://127.0.0.1:{free_port()}/nothing-listens"
        results = fetch_pages([site.url(p) for p in routes] + [dead], FAST)
    by_path = {r.url.replace(site.base_url, ""): r for r in results}
    assert isinstance(by_path["/ok"], FetchedPage) and by_path["/ok"].body.startswith(b"<html>")
    reasons = {path: r.reason for path, r in by_path.items() if isinstance(r, FetchFailure)}
    assert reasons["/error"] == "HTTP 500"
    assert reasons["/missing"] == "HTTP 404"
    assert reasons["/slow"].startswith("timeout")
    assert reasons["/pdf"] == "unexpected content type 'application/pdf'"
    assert reasons["/huge"].startswith("body too large")
    assert reasons["/loop"] == "too many redirects"
    assert reasons[dead].startswith("robots.txt: connection error")  # RFC 9309: no robots.txt answer, no fetch
    (unpolite,) = fetch_pages([dead], FAST, respect_robots=False)
    assert unpolite.reason.startswith("connection error")
    assert [r.url for r in results][:len(routes)] == [site.url(p) for p in routes]  # input order kept


def test_user_agent_is_sent():
    with LoopbackSite({"/ok": Response(b"<p>x</p>")}) as site:
        fetch_pages([site.url("/ok")], replace(FAST, user_agent="newswatch-test/1"))
    assert site.requests[0].headers["User-Agent"] == "newswatch-test/1"


def test_an_unchanged_feed_costs_one_conditional_request(site):
    source = Source("Review", feed=site.url("/review/feed.xml"))
    first = discover(source, FAST)
    assert len(first.entries) == 2 and first.validators[source.feed][0]  # the server's ETag
    again = discover(source, FAST, validators=first.validators)
    assert (again.entries, again.unchanged) == ([], [source.feed])
    assert site.requests[-1].headers["If-None-Match"] == first.validators[source.feed][0]

    site.routes["/review/feed.xml"] = Response(site.routes["/review/feed.xml"].body + b"\n", "application/xml")
    changed = discover(source, FAST, validators=first.validators)
    assert len(changed.entries) == 2 and changed.validators[source.feed] != first.validators[source.feed]


def test_server_errors_and_rate_limits_are_retried():
    flaky = [Response(b"busy", "text/plain", status=503), Response(b"busy", "text/plain", status=502),
             Response(b"<p>finally</p>")]
    limited = [Response(b"slow down", "text/plain", status=429, headers={"Retry-After": "1"}), Response(b"<p>ok</p>")]
    with LoopbackSite({"/flaky": flaky, "/limited": limited}) as site:
        started = time.monotonic()
        results = fetch_pages([site.url("/flaky"), site.url("/limited")], FAST)
        elapsed = time.monotonic() - started
    assert all(isinstance(r, FetchedPage) for r in results)
    assert [r.path for r in site.requests].count("/flaky") == 3
    assert [r.path for r in site.requests].count("/limited") == 2
    assert elapsed >= 1.0  # Retry-After was honoured


def test_retries_give_up_with_the_last_reason():
    never = Response(b"down", "text/plain", status=500)
    far = Response(b"later", "text/plain", status=429, headers={"Retry-After": "3600"})
    with LoopbackSite({"/down": never, "/far": far}) as site:
        down, later = fetch_pages([site.url("/down"), site.url("/far")], FAST)
    assert down.reason == "HTTP 500" and [r.path for r in site.requests].count("/down") == 1 + FAST.retries
    assert later.reason == "HTTP 429 (retry after 3600 s)"  # too long to wait: left to the next run
    assert [r.path for r in site.requests].count("/far") == 1


def test_robots_txt_is_honoured_for_pages_only():
    robots = b"User-agent: *\nDisallow: /private/\nCrawl-delay: 1\n"
    routes = {"/robots.txt": Response(robots, "text/plain"), "/private/a.html": Response(b"<p>secret</p>"),
              "/news/b.html": Response(b"<p>news</p>"), "/news/c.html": Response(b"<p>more news</p>"),
              "/private/feed.xml": Response(b'<rss version="2.0"><channel><title>f</title></channel></rss>',
                                            "application/rss+xml")}
    with LoopbackSite(routes) as site:
        started = time.monotonic()
        private, b, c = fetch_pages([site.url("/private/a.html"), site.url("/news/b.html"), site.url("/news/c.html")],
                                    FAST)
        elapsed = time.monotonic() - started
        assert discover(Source("Feed", feed=site.url("/private/feed.xml")), FAST).entries == []  # feeds: not checked
    assert private.reason == "disallowed by robots.txt"
    assert isinstance(b, FetchedPage) and isinstance(c, FetchedPage)
    assert elapsed >= 1.0  # Crawl-delay spaced the two requests to the host
    paths = [r.path for r in site.requests]
    assert paths.count("/robots.txt") == 1 and "/private/a.html" not in paths


def test_a_robots_txt_server_error_means_not_now():
    routes = {"/robots.txt": Response(b"oops", "text/plain", status=503), "/a.html": Response(b"<p>a</p>")}
    with LoopbackSite(routes) as site:
        (page,) = fetch_pages([site.url("/a.html")], FAST)
    assert page.reason == "robots.txt: HTTP 503; not fetched"
    assert "/a.html" not in [r.path for r in site.requests]


def test_requests_to_one_host_are_spaced_and_capped():
    routes = {f"/p{i}.html": Response(b"<p>x</p>", delay=0.2) for i in range(6)}
    with LoopbackSite(routes) as site:
        started = time.monotonic()
        results = fetch_pages([site.url(p) for p in routes], replace(FAST, per_host=2, min_delay=0.1))
        elapsed = time.monotonic() - started
    assert all(isinstance(r, FetchedPage) for r in results)
    assert site.peak_in_flight == 2  # the per-host cap, measured at the server
    assert elapsed >= 0.5  # six starts at least 0.1 s apart


def test_sitemap_index_with_gzip_children():
    import gzip

    with LoopbackSite() as site:
        child = ('<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                 f'<url><loc>{site.base_url}/a.html</loc></url></urlset>').encode()
        index = ('<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                 f'<sitemap><loc>{site.base_url}/news.xml.gz</loc></sitemap></sitemapindex>').encode()
        site.routes["/sitemap.xml"] = Response(index, "application/xml")
        site.routes["/news.xml.gz"] = Response(gzip.compress(child), "application/x-gzip")
        entries = discover(Source("Maps", sitemap=site.url("/sitemap.xml")), FAST).entries
    assert [e.url for e in entries] == [site.url("/a.html")]


LAUGHS = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
          '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
          '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">'
          '<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">'
          '<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">'
          '<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">]>')


def test_entities_in_a_feed_or_sitemap_do_not_expand():
    feed = (LAUGHS + '<rss version="2.0"><channel><title>&lol6;</title><item><title>&lol6;</title>'
            '<link>https://a.example/1</link></item></channel></rss>').encode()
    sitemap = (LAUGHS + '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>'
               'https://a.example/&lol6;</loc></url></urlset>').encode()
    with LoopbackSite({"/feed.xml": Response(feed, "application/rss+xml"),
                       "/sitemap.xml": Response(sitemap, "application/xml")}) as site:
        started = time.monotonic()
        feed_entries = discover(Source("F", feed=site.url("/feed.xml")), FAST).entries
        with pytest.raises(SourceError, match="not a readable sitemap .*amplification"):
            discover(Source("S", sitemap=site.url("/sitemap.xml")), FAST)  # refused, with the reason
    assert time.monotonic() - started < 5
    assert feed_entries and all(len(e.url) < 200 and len(e.title or "") < 200 for e in feed_entries)


RSS_ONE = ('<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
           '<item><title>One</title><link>{base}/one.html</link></item></channel></rss>')


@pytest.mark.parametrize("how", ["link", "robots sitemap", "usual path"])
def test_a_feed_is_found_from_the_home_page(how):
    with LoopbackSite() as site:
        base = site.base_url
        home = "<html><head><title>Home</title></head><body><p>Welcome</p></body></html>"
        if how == "link":
            home = home.replace("</head>", '<link rel="alternate" type="application/rss+xml" href="/news/rss">'
                                "</head>")
            site.routes["/news/rss"] = Response(RSS_ONE.format(base=base).encode(), "application/rss+xml")
        elif how == "robots sitemap":
            site.routes["/robots.txt"] = Response(f"User-agent: *\nSitemap: {base}/map.xml\n".encode(), "text/plain")
            site.routes["/map.xml"] = Response(
                ('<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                 f"<url><loc>{base}/one.html</loc></url></urlset>").encode(), "application/xml")
        else:
            site.routes["/feed.xml"] = Response(RSS_ONE.format(base=base).encode(), "application/rss+xml")
        site.routes["/"] = Response(home.encode())
        entries = discover(Source("Site", homepage=base + "/"), FAST).entries
    assert [e.url for e in entries] == [base + "/one.html"]
    assert [r.path for r in site.requests].count("/robots.txt") == 1  # read once per host, whatever asks


def test_a_home_page_with_no_feed_is_a_clear_error():
    with LoopbackSite({"/": Response(b"<html><body><p>Nothing here</p></body></html>")}) as site:
        with pytest.raises(SourceError, match="no feed or sitemap found"):
            discover(Source("Bare", homepage=site.base_url + "/"), FAST)


def test_brotli_compressed_pages_are_decoded():
    import brotli

    page = b"<html><body><p>" + "Déjà vu in Geneva. ".encode() * 50 + b"</p></body></html>"
    with LoopbackSite({"/br.html": Response(brotli.compress(page), headers={"Content-Encoding": "br"})}) as site:
        (fetched,) = fetch_pages([site.url("/br.html")], FAST)
    assert fetched.body == page
    assert "br" in site.requests[-1].headers["Accept-Encoding"]


def test_a_connection_reset_is_retried_then_reported():
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    accepted = []

    def reset_every_connection():
        while len(accepted) < 1 + FAST.retries:
            connection, _ = server.accept()
            accepted.append(connection)
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            connection.close()  # linger 0: the peer sees a reset

    threading.Thread(target=reset_every_connection, daemon=True).start()
    (result,) = fetch_pages([f"http://127.0.0.1:{server.getsockname()[1]}/a.html"], FAST, respect_robots=False)
    server.close()
    assert result.reason.startswith("connection error")
    assert len(accepted) == 1 + FAST.retries  # tried again before giving up


def test_google_news_sitemap_dates():
    news = ('<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
            'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"><url><loc>{base}/a.html</loc>'
            '<news:news><news:publication_date>2025-04-12T09:00:00Z</news:publication_date></news:news></url></urlset>')
    with LoopbackSite() as site:
        site.routes["/news.xml"] = Response(news.format(base=site.base_url).encode(), "application/xml")
        (entry,) = discover(Source("News", sitemap=site.url("/news.xml")), FAST).entries
    assert entry.updated == "2025-04-12T09:00:00Z"
