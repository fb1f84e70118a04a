"""A synthetic news archive for backfill tests: dated article pages, a sitemap over them, served on loopback."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from html import escape

from newswatch.loopback import Response

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


def sources_toml(base_url: str) -> str:
    return f'[[sources]]\nname = "Archive Times"\nsitemap = "{base_url}/sitemap.xml"\n'
