from __future__ import annotations

import asyncio
import gzip
import hashlib
import io
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from urllib.parse import urljoin, urlsplit

import feedparser
from lxml import etree
from lxml import html as lxml_html

from ._config import Source
from ._fetch import FEED_TYPES, FetchedPage, Fetcher, FetchFailure, FetchSettings, NotModified, Validators

# How deep sitemap indexes may nest before we stop following them.
MAX_SITEMAP_DEPTH = 3
# The sitemap protocol's limit on a URL; a longer one is no article link, and 50,000 of them
# would hold hundreds of megabytes.
MAX_URL_CHARS = 2048

log = logging.getLogger("newswatch.sources")


class SourceError(Exception):
    """A source's feed or sitemap could not be read; the message says why."""


@dataclass(frozen=True)
class Entry:
    """An article a source announces."""

    url: str
    source: str
    title: str | None = None
    # When the source last changed the entry: a feed's updated (else published) date, a sitemap's
    # lastmod. A new value on a stored entry means the page may have been updated.
    updated: str | None = None
    guid: str | None = None
    summary: str | None = None

    @property
    def fingerprint(self) -> str | None:
        """A hash of what a feed says of the entry besides its date (guid, title, summary): a new
        one means the page may have been updated, even when the feed kept the date. None for a
        sitemap's or a page list's entries, which say nothing more."""
        if not (self.guid or self.title or self.summary):
            return None
        said = "\x1f".join(part or "" for part in (self.guid, self.title, self.summary))
        return hashlib.sha256(said.encode()).hexdigest()[:16]


@dataclass
class Discovery:
    """What a source announces now, and the validators to send next time."""

    entries: list[Entry] = field(default_factory=list)
    # {feed or sitemap URL: (ETag, Last-Modified)} for the documents read this time.
    validators: dict[str, Validators] = field(default_factory=dict)
    # Documents the server said were unchanged (HTTP 304): their entries were seen before.
    unchanged: list[str] = field(default_factory=list)


def discover(source: Source, settings: FetchSettings, *, validators: Mapping[str, Validators] | None = None
             ) -> Discovery:
    """List the articles a source announces now. With ``validators`` from last time, a feed or
    sitemap that has not changed costs one conditional request and announces nothing new.

    Raises:
        SourceError: the feed or sitemap could not be read.
    """
    (found,) = discover_many([source], settings, validators={source.name: validators or {}}).values()
    if isinstance(found, SourceError):
        raise found
    return found


def discover_many(sources: list[Source], settings: FetchSettings, *,
                  validators: Mapping[str, Mapping[str, Validators]] | None = None
                  ) -> dict[str, Discovery | SourceError]:
    """Discover many sources at once, over one shared client: {source name: Discovery or the error}."""
    async def run() -> list[Discovery | SourceError]:
        async with Fetcher(settings) as fetcher:
            return await asyncio.gather(*(
                _discover(fetcher, source, (validators or {}).get(source.name, {})) for source in sources))

    return dict(zip([s.name for s in sources], asyncio.run(run()) if sources else [], strict=True))


async def _discover(fetcher: Fetcher, source: Source, known: Mapping[str, Validators]) -> Discovery | SourceError:
    deadline = fetcher.settings.source_deadline
    try:
        async with asyncio.timeout(deadline):
            return await _discover_source(fetcher, source, known)
    except TimeoutError:
        return SourceError(f"{source.name}: its feed or sitemap took over {deadline:g} s to read")


async def _discover_source(fetcher: Fetcher, source: Source, known: Mapping[str, Validators]
                           ) -> Discovery | SourceError:
    found = Discovery()
    try:
        if source.feed or source.sitemap:
            found.entries = await _discover_document(fetcher, source, known, found)
        elif source.homepage:
            kind, url = await _find_feed(fetcher, source.homepage)
            found.entries = await _discover_document(fetcher, replace(source, homepage=None, **{kind: url}), known,
                                                     found)
        elif source.cdx:
            page = await _get(fetcher, source.cdx, known, found)
            # As for a sitemap: however many captures the answer lists, a bounded number of entries.
            found.entries = _cdx_entries(source, page)[:fetcher.settings.max_entries] if page else []
        else:
            found.entries = [Entry(url=url, source=source.name) for url in source.pages]
    except SourceError as exc:
        return exc
    return found


async def _discover_document(fetcher: Fetcher, source: Source, known: Mapping[str, Validators],
                             found: Discovery) -> list[Entry]:
    """The entries of a source's feed or sitemap (none when unchanged since last time)."""
    if source.feed:
        page = await _get(fetcher, source.feed, known, found)
        return _feed_entries(source, page) if page else []
    return await _sitemap_entries(fetcher, source, known, found)


# Where sites usually publish a feed, tried in this order when the home page names none.
_USUAL_FEED_PATHS = ("/feed", "/rss", "/feed.xml", "/rss.xml", "/atom.xml", "/index.xml", "/feeds/feed.rss")
_FEED_LINK_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json", "application/json")


async def _find_feed(fetcher: Fetcher, homepage: str) -> tuple[str, str]:
    """("feed" or "sitemap", URL) for a site: the feeds its home page links to, else the sitemaps its
    robots.txt lists, else a feed at a usual path."""
    page = await fetcher.get(homepage)
    if isinstance(page, FetchedPage):
        tree = lxml_html.fromstring(page.body) if page.body.strip() else None
        links = tree.xpath("//link[@rel='alternate'][@href][@type]") if tree is not None else []
        for link in links:
            if link.get("type").split(";")[0].strip().lower() in _FEED_LINK_TYPES:
                return "feed", urljoin(page.final_url, link.get("href"))
    sitemaps = await fetcher.sitemaps(homepage)
    if sitemaps:
        return "sitemap", sitemaps[0]
    base = "{0.scheme}://{0.netloc}".format(urlsplit(homepage))
    for path in _USUAL_FEED_PATHS:
        candidate = await fetcher.get(base + path, accept=FEED_TYPES, respect_robots=False)
        if isinstance(candidate, FetchedPage) and feedparser.parse(_without_entity_declarations(candidate.body)).get(
                "version"):
            return "feed", base + path
    reason = page.reason if isinstance(page, FetchFailure) else "it links to no feed, and no usual path has one"
    raise SourceError(f"{homepage}: no feed or sitemap found ({reason})")


async def _get(fetcher: Fetcher, url: str, known: Mapping[str, Validators], found: Discovery) -> FetchedPage | None:
    """Fetch a feed or sitemap conditionally; None when unchanged. Records its new validators."""
    result = await fetcher.get(url, accept=FEED_TYPES, validators=known.get(url), respect_robots=False)
    if isinstance(result, NotModified):
        found.unchanged.append(url)
        return None
    if not isinstance(result, FetchedPage):
        raise SourceError(f"{url}: {result.reason}")
    if result.etag or result.last_modified:
        found.validators[url] = (result.etag, result.last_modified)
    return result


# A DOCTYPE with an internal subset: where entities are declared.
_DOCTYPE_WITH_SUBSET = re.compile(rb"<!DOCTYPE[^>\[]*\[.*?\]\s*>", re.DOTALL | re.IGNORECASE)


def _without_entity_declarations(body: bytes) -> bytes:
    """feedparser expands the entities a feed declares ("billion laughs"): drop their declarations,
    so that references to them stay unexpanded text. Real feeds declare none."""
    if b"<!ENTITY" in body[:65536].upper():
        return _DOCTYPE_WITH_SUBSET.sub(b"", body, count=1)
    return body


def _usable_url(url: str | None) -> bool:
    """An announced link newswatch may follow: http(s), and of a sane length."""
    return bool(url) and url.startswith(("http://", "https://")) and len(url) <= MAX_URL_CHARS


def _entry_date(item) -> str | None:
    # Asking feedparser for a missing "updated" maps it to "published" with a warning: look first.
    return item["updated"] if "updated" in item.keys() else item.get("published")


def _cdx_entries(source: Source, page: FetchedPage) -> list[Entry]:
    """A CDX answer's captures of HTML pages that answered 200, each URL once (its first capture), as
    entries to read from the archive: its Wayback URL with ``id_``, the page as captured, dated by
    the capture. The answer is JSON (``output=json``: a header row, then a row per capture) or
    plain text (urlkey, timestamp, original, mimetype, statuscode, ... a line each)."""
    text = page.body.decode("utf-8", errors="replace")
    try:
        rows = json.loads(text) if text.lstrip().startswith("[") else [line.split() for line in text.splitlines()]
    except ValueError as exc:
        raise SourceError(f"{page.url}: unreadable CDX answer ({exc})") from None
    header = rows[0] if rows and isinstance(rows[0], list) and "original" in rows[0] else None
    fields = header or ["urlkey", "timestamp", "original", "mimetype", "statuscode", "digest", "length"]
    archive = urlsplit(page.final_url)
    entries, seen, captures = [], set(), 0
    for row in rows[1:] if header else rows:
        capture = dict(zip(fields, row, strict=False)) if isinstance(row, list) else {}
        timestamp, original = capture.get("timestamp", ""), capture.get("original", "")
        if not (timestamp.isdigit() and len(timestamp) >= 8):
            continue
        captures += 1
        if (not _usable_url(original) or original in seen or capture.get("statuscode") not in ("200", "-")
                or "html" not in capture.get("mimetype", "")):
            continue
        seen.add(original)
        day = f"{timestamp[:4]}-{timestamp[4:6]}-{timestamp[6:8]}"
        entries.append(Entry(url=f"{archive.scheme}://{archive.netloc}/web/{timestamp}id_/{original}",
                             source=source.name, updated=day))
    if rows and not captures and not header:
        raise SourceError(f"{page.url}: not a CDX answer (no line of urlkey, timestamp, original, ...)")
    return entries


def _feed_entries(source: Source, page: FetchedPage) -> list[Entry]:
    headers = {"content-location": page.final_url, "content-type": page.content_type}
    parsed = feedparser.parse(_without_entity_declarations(page.body), response_headers=headers)
    entries = []
    for item in parsed.entries:
        url = item.get("link")
        if _usable_url(url):
            entries.append(Entry(url=url, source=source.name, title=item.get("title"),
                                 updated=_entry_date(item), guid=item.get("id"), summary=item.get("summary")))
    # A malformed feed that still yields links is used; one that yields none, or a document that is
    # no feed at all (a moved feed answering with a homepage), is an error, not "no news".
    if not entries and (parsed.get("bozo") or not parsed.get("version")):
        problem = parsed.get("bozo_exception") or "no RSS, Atom or JSON Feed found"
        raise SourceError(f"{page.url}: unreadable feed ({problem})")
    return entries


async def _sitemap_entries(fetcher: Fetcher, source: Source, known: Mapping[str, Validators],
                           found: Discovery) -> list[Entry]:
    """A sitemap's entries, following its index's children breadth first: each sitemap once, at most
    MAX_SITEMAP_DEPTH deep, ``max_sitemaps`` documents and ``max_entries`` entries per source."""
    settings = fetcher.settings
    entries: list[Entry] = []
    queue, seen = [(source.sitemap, 0)], {source.sitemap}
    fetched = 0
    while queue:
        if fetched == settings.max_sitemaps or len(entries) >= settings.max_entries:
            log.warning("%s: stopped at %d sitemaps and %d entries (limits: NEWSWATCH_MAX_SITEMAPS=%d, "
                        "NEWSWATCH_MAX_ENTRIES=%d); %d sitemaps left unread this run", source.name, fetched,
                        len(entries), settings.max_sitemaps, settings.max_entries, len(queue))
            break
        url, depth = queue.pop(0)
        fetched += 1
        page = await _get(fetcher, url, known, found)
        if page is None:
            continue
        root = _parse_xml(page, settings.max_bytes)
        for loc in root.iterfind("{*}sitemap/{*}loc"):
            child = (loc.text or "").strip()
            if depth < MAX_SITEMAP_DEPTH and _usable_url(child) and child not in seen:
                seen.add(child)
                queue.append((child, depth + 1))
        for node in root.iterfind("{*}url"):
            loc = (node.findtext("{*}loc") or "").strip()
            if _usable_url(loc) and len(entries) < settings.max_entries:
                # Google News sitemaps date an entry in news:publication_date.
                updated = node.findtext("{*}lastmod") or node.findtext("{*}news/{*}publication_date")
                entries.append(Entry(url=loc, source=source.name, updated=updated))
    return entries


def _parse_xml(page: FetchedPage, max_bytes: int):
    # Entities are never expanded and no DTD is fetched: a hostile sitemap cannot blow up.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)
    body = page.body
    if body[:2] == b"\x1f\x8b":  # a gzipped sitemap (.xml.gz), unpacked within the size limit
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(body)) as packed:
                body = packed.read(max_bytes + 1)
        except (OSError, EOFError) as exc:
            raise SourceError(f"{page.url}: broken gzip ({exc})") from None
        if len(body) > max_bytes:
            raise SourceError(f"{page.url}: unpacked sitemap over {max_bytes} bytes")
    try:
        return etree.fromstring(body, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise SourceError(f"{page.url}: not a readable sitemap ({exc})") from None
