"""The site memory's counts: on how many stories of each site each line was seen. The rule that
reads them (what counts as chrome, when counts are halved) is the extractors'."""

from __future__ import annotations

from collections.abc import Iterable

import sqlite_utils

from extractors import Article, SiteMemory, memory_is_full, min_pages, page_fingerprints, site_of


class SiteLines:
    db: sqlite_utils.Database

    def _learn_site_lines(self, article: Article) -> None:
        """Count a new story's lines for its site's memory; halve the site's counts when the
        extractors' rule says the memory is full. Copies of a story and revisions are not counted: the lines a story
        shares with its copies are not the site's chrome."""
        host = site_of(article.url or article.canonical_url)
        if host is None:
            return
        self.db.execute("insert into sites (host, pages) values (?, 1) "
                        "on conflict (host) do update set pages = pages + 1", [host])
        self.db.conn.executemany("insert into site_lines (host, fingerprint, pages) values (?, ?, 1) "
                                 "on conflict (host, fingerprint) do update set pages = pages + 1",
                                 [(host, fingerprint) for fingerprint in page_fingerprints(article)])
        (pages,) = self.db.execute("select pages from sites where host = ?", [host]).fetchone()
        if memory_is_full(pages):
            self.db.execute("update sites set pages = pages / 2 where host = ?", [host])
            self.db.execute("update site_lines set pages = pages / 2 where host = ?", [host])
            self.db.execute("delete from site_lines where host = ? and pages = 0", [host])

    def site_memories(self, urls: Iterable[str] | None = None) -> dict[str, SiteMemory]:
        """What was learnt of the sites of these URLs (default: of every site), by host; a site with no
        repeated line yet is left out."""
        wanted = None if urls is None else {site_of(url) for url in urls} - {None}
        if wanted == set():
            return {}  # nothing to fetch: a routine tick asks for every source
        memories = {}
        for host, pages in self.db.execute("select host, pages from sites").fetchall():
            if wanted is not None and host not in wanted:
                continue
            chrome = frozenset(f for (f,) in self.db.execute(
                "select fingerprint from site_lines where host = ? and pages >= ?", [host, min_pages(pages)]))
            if chrome:
                memories[host] = SiteMemory(pages, chrome)
        return memories
