from __future__ import annotations

import json
from collections.abc import Mapping

import trafilatura
from courlan import normalize_url
from trafilatura.utils import load_html

from detectors import identify_language

from ._article import Article
from ._chrome import filter_chrome_lines, find_headline, remove_chrome_blocks
from ._decode import decode_page, utf16_text, without_leading_output
from ._embeds import unwrap_embedded_posts
from ._metadata import page_metadata
from ._site_memory import SiteMemory, site_of

# Real article pages are far smaller; past this the input is an error, not a page.
MAX_HTML_BYTES = 5_000_000


class ExtractionError(ValueError):
    """The input is not an extractable article page; the message says why."""


def extract_article(html: bytes | str, *, url: str | None = None, content_type: str | None = None,
                    site_memory: Mapping[str, SiteMemory] | None = None) -> Article:
    """Extract the article from one HTML page.

    Args:
        html: the page as served (gzip is unpacked) or as text. Bytes are read as UTF-8 when they
            are valid UTF-8, else in the charset that ``content_type`` or the page declares, else
            in the one their content suggests.
        url: where the page came from; used for metadata and as the canonical URL fallback.
        content_type: the HTTP Content-Type the page was served with, for its charset.
        site_memory: what the store learnt of each site, by host: the lines a site repeats on its
            pages are dropped from this page's text (the page's site is that of ``url``, else of
            its canonical URL).

    Returns:
        The Article, with the chrome that was removed listed in ``removed``.

    Raises:
        ExtractionError: empty, binary, oversized or non-HTML input, or a page with no article text.
    """
    tree = _parse(html, content_type)
    title = _meta(tree, "og:title") or _jsonld_headline(tree)
    removed = remove_chrome_blocks(tree, find_headline(tree, title))
    unwrap_embedded_posts(tree)
    metadata = page_metadata(tree, url)
    document = trafilatura.bare_extraction(tree, url=url, include_comments=False)
    if document is None or not (document.text or "").strip():
        raise ExtractionError("no article text found")
    text, dropped_lines = filter_chrome_lines(_without_headline(document.text, {title, metadata.title}),
                                              metadata.date)
    title = metadata.title or title
    if not text:
        raise ExtractionError("no article text left after removing site chrome")
    canonical_url = _canonical_url(tree, url)
    memory = (site_memory or {}).get(site_of(url or canonical_url))
    if memory is not None:
        text, repeated = memory.drop_repeated(text)
        dropped_lines += repeated
    title, text = _with_zwnj(title), _with_zwnj(text)
    return Article(
        url=url,
        canonical_url=canonical_url,
        title=title,
        text=text,
        author=_with_zwnj(metadata.author),
        published=metadata.date,
        language=identify_language(f"{title or ''}\n{text}") or _declared_language(tree),
        site_name=_with_zwnj(_meta(tree, "og:site_name") or metadata.sitename),
        removed=removed + dropped_lines,
    )


_SUFFIX_SEPARATORS = "|-–—·:"
_QUOTES = str.maketrans("‘’“”", "''\"\"")


def _headline_key(text: str) -> str:
    return " ".join(text.split()).translate(_QUOTES).casefold()


def _without_headline(text: str, titles: set[str | None]) -> str:
    """trafilatura repeats the headline as the first line of the body; the title has its own field.
    The line is dropped when it is one of the page's titles (og:title, trafilatura's) up to quotes,
    spacing and case, or one of them less a site-name suffix ("Headline | Site"). A first line that
    is another headline (an h1 unlike the og:title) stays: it is in no other field."""
    first, _, rest = text.lstrip().partition("\n")
    line = _headline_key(first)
    for title in filter(None, titles):
        key = _headline_key(title)
        if line and key.startswith(line) and (key == line or key[len(line):].lstrip()[0] in _SUFFIX_SEPARATORS):
            return rest
    return text


def _parse(html: bytes | str, content_type: str | None = None):
    raw = html.encode("utf-8", "surrogatepass") if isinstance(html, str) else html
    if not raw.strip():
        raise ExtractionError("empty document")
    if len(raw) > MAX_HTML_BYTES:
        raise ExtractionError(f"document too large: {len(raw)} bytes (limit {MAX_HTML_BYTES})")
    if isinstance(html, bytes) and b"\x00" in raw[:4096] and not raw.startswith(b"\x1f\x8b"):
        html = utf16_text(raw)
        if html is None:
            raise ExtractionError("binary content, not HTML")
    page = without_leading_output(html if isinstance(html, str) else decode_page(raw, content_type))
    tree = load_html(_with_zwnj_stand_in(page), max_size=MAX_HTML_BYTES)
    if tree is None or not tree.xpath("boolean(//body//text()[normalize-space()])"):
        raise ExtractionError("not an HTML document")
    return tree


# trafilatura drops every character that does not print, Persian's zero-width non-joiner among them
# ("می‌شود", "is", would become "میشود"): it goes through extraction as a printable stand-in that news
# text does not hold (the combining grapheme joiner), and is put back after.
_ZWNJ, _ZWNJ_STAND_IN = "\u200c", "\u034f"
_ZWNJ_FORMS = (_ZWNJ, "&zwnj;", "&#8204;", "&#x200c;", "&#x200C;")


def _with_zwnj_stand_in(page: bytes | str) -> bytes | str:
    for form in _ZWNJ_FORMS:
        if isinstance(page, bytes):
            page = page.replace(form.encode(), _ZWNJ_STAND_IN.encode())
        else:
            page = page.replace(form, _ZWNJ_STAND_IN)
    return page


def _with_zwnj(text: str | None) -> str | None:
    return text.replace(_ZWNJ_STAND_IN, _ZWNJ) if text else text


def _meta(tree, name: str) -> str | None:
    for value in tree.xpath(f'//meta[@property="{name}" or @name="{name}"]/@content'):
        if value.strip():
            return value.strip()
    return None


def _jsonld_headline(tree) -> str | None:
    for script in tree.xpath('//script[@type="application/ld+json"]/text()'):
        try:
            data = json.loads(script)
        except ValueError:
            continue
        for item in data if isinstance(data, list) else [data]:
            if isinstance(item, dict) and isinstance(item.get("headline"), str):
                return item["headline"].strip()
    return None


def _canonical_url(tree, url: str | None) -> str | None:
    candidates = tree.xpath('//link[@rel="canonical"]/@href') + tree.xpath('//meta[@property="og:url"]/@content')
    for candidate in [c.strip() for c in candidates] + [url]:
        if candidate and candidate.startswith(("http://", "https://")):
            try:
                return normalize_url(candidate)
            except ValueError:
                continue
    return None


def _declared_language(tree) -> str | None:
    """The language the page says it is in: the article's own, when its text is too short to tell
    (a template's lang attribute is often the site's default, not the article's)."""
    declared = tree.xpath("/html/@lang") or tree.xpath('//meta[@http-equiv="content-language"]/@content')
    if declared and declared[0].strip():
        return declared[0].strip().split("-")[0].lower()
    return None
