"""Repeated-chrome learning: a line that recurs on many stories of one site is the site's chrome.

The store counts, per site, on how many distinct stories each line was seen (as fingerprints); the
extractor drops the lines a site repeats. Recurring lines are dropped where chrome sits: in the runs
of lines that open or close the text, and anywhere when short. A long recurring paragraph inside the
text is kept: wire services repeat background paragraphs word for word, and those are the article.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from ._article import Article, Removal

REPEATED = "repeated on many pages of this site"
# A line is the site's chrome once it was seen on this many of its stories...
MIN_PAGES = 3
# ...and on at least this share of them (so that a phrase a few stories share is not chrome).
MIN_SHARE = 0.1
# The memory follows a site's recent stories: once it has counted twice this many, every count of
# the site is halved. A template change is then learnt as fast in a site's fifth year as in its first
# week, and the lines of one story alone (the article text) are forgotten instead of piling up.
MEMORY_PAGES = 200
# Inside the text, only lines this short are dropped for recurring: prompts, labels, credits.
MAX_INNER_WORDS = 20

_DIGITS = re.compile(r"\d+")


def site_of(url: str | None) -> str | None:
    """The site a page belongs to: its host name, without "www."."""
    host = urlsplit(url).hostname if url else None
    return host.removeprefix("www.") if host else None


def line_fingerprint(line: str) -> int:
    """A signed 64-bit fingerprint of a line, with case, spacing and numbers (dates, counts) ignored."""
    normal = _DIGITS.sub("0", " ".join(line.casefold().split()))
    return int.from_bytes(hashlib.blake2b(normal.encode(), digest_size=8).digest(), "big", signed=True)


def page_fingerprints(article: Article) -> set[int]:
    """The fingerprints of the lines a page showed: its text, and the lines dropped as repeated."""
    lines = article.text.split("\n") + [r.text for r in article.removed if r.reason == REPEATED]
    return {line_fingerprint(line) for line in lines if line.strip()}


def min_pages(site_pages: int) -> int:
    """On how many of a site's ``site_pages`` stories a line must be seen to be its chrome."""
    return max(MIN_PAGES, math.ceil(MIN_SHARE * site_pages))


def memory_is_full(site_pages: int) -> bool:
    """Whether a site's counts, now over ``site_pages`` stories, are to be halved."""
    return site_pages >= 2 * MEMORY_PAGES


@dataclass(frozen=True)
class SiteMemory:
    """What the store learnt of one site: the fingerprints of the lines it repeats."""

    pages: int
    chrome: frozenset[int]

    def drop_repeated(self, text: str) -> tuple[str, list[Removal]]:
        """The text without the site's repeated lines (at its edges, or short), and what went. A text
        made of nothing but repeated lines is returned whole: it is a page the site repeats, and
        dropping all of it would lose the page."""
        lines = text.split("\n")
        repeated = [line_fingerprint(line) in self.chrome for line in lines]
        lead, tail = _run_length(repeated), _run_length(reversed(repeated))
        drop = [r and (i < lead or i >= len(lines) - tail or len(lines[i].split()) <= MAX_INNER_WORDS)
                for i, r in enumerate(repeated)]
        if all(drop):
            return text, []
        kept = "\n".join(line for line, d in zip(lines, drop, strict=True) if not d)
        return kept.strip(), [Removal(REPEATED, line.strip()) for line, d in zip(lines, drop, strict=True) if d]


def _run_length(flags: Iterable[bool]) -> int:
    count = 0
    for flag in flags:
        if not flag:
            break
        count += 1
    return count
