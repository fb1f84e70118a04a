from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Source:
    """One entry of the sources file: a feed, a sitemap, a home page to find either on, or a list of pages."""

    name: str
    feed: str | None = None
    sitemap: str | None = None
    pages: tuple[str, ...] = ()
    # A site's home page: its feed (or sitemap) is found there on each run.
    homepage: str | None = None
    # A CDX query of a web archive (the Wayback Machine's CDX API, or a server that answers alike):
    # its captures of HTML pages are the entries, each page read from the archive.
    cdx: str | None = None


def listed_hosts(sources: list[Source]) -> tuple[str, ...]:
    """The hosts of every URL the user wrote in these sources: fetched from whatever their address
    (an intranet site, a loopback test site), unlike hosts only a site's feed or redirect names."""
    urls = [url for s in sources for url in (s.feed, s.sitemap, s.homepage, s.cdx, *s.pages) if url]
    return tuple(sorted({host for url in urls if (host := urlsplit(url).hostname)}))


def load_url_list(path: str | Path) -> Source:
    """A plain text file of article URLs, one per line (blank lines and # comments skipped), as one
    source named after the file."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read the URL list ({exc})") from None
    urls = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    for number, url in enumerate(urls, start=1):
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"{path}: URL #{number} {url!r} is not an http(s) URL")
    if not urls:
        raise ValueError(f"{path}: no URLs")
    return Source(name=f"url list {path.name}", pages=tuple(dict.fromkeys(urls)))


_KEYS = {"name", "feed", "sitemap", "pages", "homepage", "cdx"}


def load_sources(path: str | Path) -> list[Source]:
    """Read a sources TOML file; raise ValueError naming the entry that is wrong."""
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the sources file ({exc.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not valid TOML: {exc}") from None
    if unknown := sorted(set(data) - {"sources"}):
        raise ValueError(f"{path}: unknown top-level key {unknown[0]!r} (only [[sources]] entries belong here)")
    entries = data.get("sources")
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"{path}: no [[sources]] entries")
    sources, names = [], set()
    for number, entry in enumerate(entries, start=1):
        where = f"{path}: source #{number}"
        if not isinstance(entry, dict):
            raise ValueError(f"{where} is {entry!r}, not a [[sources]] table")
        if unknown := sorted(set(entry) - _KEYS):
            raise ValueError(f"{where} ({entry.get('name', 'no name')}): unknown key {unknown[0]!r} "
                             f"(a source takes {', '.join(sorted(_KEYS))})")
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"{where} needs a name")
        if name in names:
            raise ValueError(f"{where}: the name {name!r} is used twice")
        names.add(name)
        kinds = [k for k in ("feed", "sitemap", "pages", "homepage", "cdx") if entry.get(k)]
        if len(kinds) != 1:
            raise ValueError(f"{where} ({name}) needs exactly one of feed, sitemap, pages, homepage or cdx")
        pages = entry.get("pages", [])
        if not isinstance(pages, list) or not all(isinstance(p, str) for p in pages):
            raise ValueError(f"{where} ({name}): pages must be a list of URLs")
        for url in [entry.get("feed"), entry.get("sitemap"), entry.get("homepage"), entry.get("cdx"), *pages]:
            if url is not None and not (isinstance(url, str) and url.startswith(("http://", "https://"))):
                raise ValueError(f"{where} ({name}): {url!r} is not an http(s) URL")
        sources.append(Source(name=name, feed=entry.get("feed"), sitemap=entry.get("sitemap"), pages=tuple(pages),
                              homepage=entry.get("homepage"), cdx=entry.get("cdx")))
    return sources
