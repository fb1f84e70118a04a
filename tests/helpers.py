"""What tests share: the seeds demo site's paths and texts, a synthetic dated archive for backfills, and
a monitor run without Prefect. Fixtures live in conftest.py; this is an ordinary module to import."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from html import escape
from pathlib import Path

from pydantic import SecretStr

import seeds
from newswatch.loopback import Response
from pipeline import RunSummary, load_settings, monitor_once, prepare_run
from storage import Store

TOKYO_PATH = "/review/2019/12/19/rouhani-tokyo-trip-us-iran-talks.html"
RUSSIA_UKRAINE_PATH = "/review/2024/04/25/diplomacy-watch-russia-ukraine-deal-2022.html"
REJECTED_PATH = "/daily/world/2017/09/25/iran-rejected-trump-meeting.html"
EUROPE_PATH = "/daily/world/2024/04/19/europe-mixed-messaging-restraint.html"
# The Arabic outlet's page is in windows-1256, the Persian one's in UTF-8.
ARABIC_PATH = "/alwaha/2025/04/12/muscat-second-round.html"
PERSIAN_PATH = "/payam/1404/02/rome-third-round.html"
FLAGGED_PATHS = [TOKYO_PATH, REJECTED_PATH, ARABIC_PATH, PERSIAN_PATH]
NOT_FLAGGED_PATHS = [RUSSIA_UKRAINE_PATH, EUROPE_PATH]

# Chrome that the seed capture of the Tokyo-trip page shows leaking into article text.
CHROME = ["keep reading", "Show less", "Follow us on social", "Shutterstock_645187786", "Analysis | Middle East",
          "Read more", "Sign up for", "Up next", "Latest", "Most read", "Related coverage"]


def seed_routes(base_url: str) -> dict[str, Response]:
    return {path: Response(body, ctype) for path, (ctype, body) in seeds.demo_site(base_url).items()}


def seed_page(path: str, base_url: str = "http://127.0.0.1:8765") -> bytes:
    return seeds.demo_site(base_url)[path][1]


def seed_paragraphs(name: str) -> list[str]:
    """The paragraphs of a seed document (seeds/documents), blank-line separated."""
    return [p.strip() for p in (seeds.DOCUMENTS_DIR / name).read_text().split("\n\n") if p.strip()]


def _tokyo_body() -> list[str]:
    """The article paragraphs of seed 002, without the chrome around them."""
    paragraphs = seed_paragraphs("002_082fa78cfa3d0590.txt")
    start = next(i for i, p in enumerate(paragraphs) if p.startswith("Iranian President Hassan Rouhani's trip"))
    end = next(i for i, p in enumerate(paragraphs) if p.startswith('A "small" deal now'))
    return paragraphs[start:end + 1]


TOKYO_BODY = _tokyo_body()


def run_monitor(sources_file: Path, db: Path, alert_urls: Sequence[str] = (), *,
                alert_mode: str = "each") -> RunSummary:
    """One monitor run through the pipeline's steps, in this process and without Prefect: settings,
    files and store read and checked as the flow reads them, the same steps in the same order."""
    settings = load_settings(sources_file=sources_file, db_path=db, alert_urls=[SecretStr(u) for u in alert_urls])
    run = prepare_run(settings, alert_mode=alert_mode)
    with Store(db) as store:
        return monitor_once(run, store)


# -- a synthetic dated archive, for backfills ---------------------------------------------------

WORDS = ("harbour council budget river school festival railway library winter farmers museum bridge "
         "election hospital market orchestra storm tunnel vineyard airport clinic stadium ferry bakery "
         "parliament forest mayor union tariff harvest painter archive village highway glacier").split()
TALKS = ["Negotiators from the United States and Iran met in Muscat on Tuesday for indirect talks on the "
         "nuclear programme, with Omani officials carrying messages between the two delegations.",
         "Iran's foreign minister said a second round of talks with Washington would follow next week."]


@dataclass(frozen=True)
class ArchivePage:
    path: str
    day: date | None
    flagged: bool
    # A date in the sitemap (lastmod); an undated entry carries its date only in the page.
    in_sitemap_dated: bool = True


def page_html(title: str, day: date | None, paragraphs: list[str]) -> bytes:
    published = f'<meta property="article:published_time" content="{day.isoformat()}T09:00:00Z">' if day else ""
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    return (f"<!doctype html><html lang=en><head><title>{escape(title)}</title>{published}</head><body>"
            f"<nav><a href='/'>Home</a> <a href='/world'>World</a></nav><article><h1>{escape(title)}</h1>"
            f"{body}</article><footer>© Archive Times</footer></body></html>").encode()


def make_archive(first: date, days: int, *, flagged_every: int = 5, undated: dict[str, date] | None = None) -> list[ArchivePage]:
    """One article a day from ``first``; every ``flagged_every``-th is about US–Iran talks. ``undated``
    adds pages whose sitemap entry has no date: {slug: the date in the page}."""
    pages = [ArchivePage(f"/news/{first + timedelta(n)}/story-{n}.html", first + timedelta(n), n % flagged_every == 0)
             for n in range(days)]
    pages += [ArchivePage(f"/news/undated/{slug}.html", day, False, in_sitemap_dated=False)
              for slug, day in (undated or {}).items()]
    return pages


# A line the site prints in every article, which no rule takes for chrome: only the site memory can.
SIGN_OFF = "The Archive Times has told its readers the news of the valley since 1897, in print and online."


def archive_routes(base_url: str, pages: list[ArchivePage], seed: int = 7, *,
                   sign_off: bool = False) -> dict[str, Response]:
    """The pages and their sitemap; with ``sign_off``, each article ends with SIGN_OFF."""
    rng = random.Random(seed)
    routes = {}
    entries = []
    for page in pages:
        paragraphs = [" ".join(rng.choice(WORDS) for _ in range(40)).capitalize() + "." for _ in range(5)]
        slug = page.path.rsplit("/", 1)[-1][:-5]
        if page.flagged:
            paragraphs[1:1] = TALKS
            title = f"U.S. and Iran hold talks in Oman: {slug}"
        else:
            title = f"{rng.choice(WORDS).capitalize()} and {rng.choice(WORDS)}: {slug}"
        routes[page.path] = Response(page_html(title, page.day, paragraphs + [SIGN_OFF] * sign_off))
        lastmod = f"<lastmod>{page.day.isoformat()}</lastmod>" if page.in_sitemap_dated else ""
        entries.append(f"<url><loc>{base_url}{page.path}</loc>{lastmod}</url>")
    sitemap = ('<?xml version="1.0" encoding="UTF-8"?>'
               '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">' + "".join(entries) + "</urlset>")
    routes["/sitemap.xml"] = Response(sitemap.encode(), "application/xml")
    return routes


def write_warc(path, base: str, *, cut: int = 200, last: bool = True) -> None:
    """A WARC (warcio's writer, gzipped record by record) of the archive's pages, with what archives
    also hold: a request record, a redirect, an image, a second capture of a page, a 404, and (with
    ``last``) a last page whose final ``cut`` bytes the file lacks."""
    from io import BytesIO

    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    routes = archive_routes(base, PAGES)
    with open(path, "wb") as out:
        writer = WARCWriter(out, gzip=True)

        def record(url, status, content_type, body, kind="response", **headers):
            http = StatusAndHeaders(status, [("Content-Type", content_type), *headers.items()], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(url, kind, payload=BytesIO(body), http_headers=http))

        record(f"{base}/news/request", "GET /news/request HTTP/1.1", "text/plain", b"", kind="request")
        for page in PAGES:
            record(f"{base}{page.path}", "200 OK", "text/html; charset=utf-8", routes[page.path].body)
        first = PAGES[3]
        record(f"{base}{first.path}", "200 OK", "text/html", b"<html><body>a later capture</body></html>")
        record(f"{base}/moved", "301 Moved Permanently", "text/html", b"", Location=f"{base}{first.path}")
        record(f"{base}/logo.png", "200 OK", "image/png", b"\x89PNG\r\n")
        record(f"{base}/gone", "404 Not Found", "text/html", b"gone")
        if last:
            record(f"{base}/last.html", "200 OK", "text/html", routes[PAGES[0].path].body)
    if last and cut:
        path.write_bytes(path.read_bytes()[:-cut])

def sources_toml(base_url: str) -> str:
    return f'[[sources]]\nname = "Archive Times"\nsitemap = "{base_url}/sitemap.xml"\n'


# The archive the backfill tests read: 20 days of news from 1 January; every fifth day's story is
# about US–Iran talks. Two sitemap entries carry no date: one page is dated inside the range, one before it.
SINCE, UNTIL = date(2024, 1, 3), date(2024, 1, 12)
PAGES = make_archive(date(2024, 1, 1), 20, undated={"inside": date(2024, 1, 8), "before": date(2023, 6, 1)})
IN_RANGE = {p.path for p in PAGES if p.day and SINCE <= p.day <= UNTIL}
FLAGGED_IN_RANGE = {p.path for p in PAGES if p.flagged and p.path in IN_RANGE}


def stored_paths(site, db) -> list[str]:
    """The paths of the site's pages stored in ``db``, sorted."""
    with Store(db) as store:
        return sorted(row["url"].removeprefix(site.base_url) for row in store.articles())


def page_requests(site) -> list[str]:
    """The article pages the site was asked for, in order."""
    return [r.path for r in site.requests if r.path.startswith("/news/")]


def finished_chunks(db) -> int:
    """The backfill chunks a store has finished (0 while another process creates it)."""
    if not Path(db).exists():
        return 0
    try:
        with Store(db) as store:
            return store.db["backfill_checkpoints"].count
    except Exception:  # the other process is creating the store
        return 0
