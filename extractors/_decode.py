"""Which charset a page's bytes are read in."""

from __future__ import annotations

import re

from trafilatura.utils import detect_encoding
from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding


def decode_page(raw: bytes, content_type: str | None = None) -> bytes | str:
    """The page as trafilatura should read it.

    - Bytes that are valid UTF-8 stay bytes: trafilatura reads them as UTF-8, whatever the page
      declares, and a UTF-8 page declared as Latin-1 is common.
    - Otherwise the text, decoded in the first charset the bytes are valid in: the one the server
      declares (``content_type``), the one the page declares, charset_normalizer's guesses (as
      trafilatura makes them), then windows-1252, which browsers assume for an undeclared page.
      trafilatura alone reads a page as UTF-8 with U+FFFD for what is not when no guess fits,
      and the guesses miss pages that have a few curly quotes or dashes in windows-1252.
    - Otherwise the bytes, for trafilatura's last resort.
    """
    try:
        raw.decode("utf-8")
        return raw
    except UnicodeDecodeError:
        pass
    # w3lib maps labels as browsers do: "iso-8859-1" is windows-1252, and so on.
    declared = [http_content_type_encoding(content_type) if content_type else None,
                html_body_declared_encoding(raw)]
    for charset in dict.fromkeys([c for c in declared if c] + detect_encoding(raw) + ["cp1252"]):
        try:
            return raw.decode(charset)
        except (UnicodeDecodeError, LookupError):
            continue
    return raw


def utf16_text(raw: bytes) -> str | None:
    """The page's text when its NUL bytes are those of UTF-16 (with a byte order mark, or markup whose
    every other byte is NUL); None for binary content."""
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        charset = "utf-16"
    elif not raw[1:512:2].strip(b"\x00"):
        charset = "utf-16-le"
    elif not raw[0:512:2].strip(b"\x00"):
        charset = "utf-16-be"
    else:
        return None
    try:
        return raw.decode(charset)
    except UnicodeDecodeError:
        return None


_MARKUP_START = re.compile(r"<(?:!doctype|html)[\s>]", re.IGNORECASE)
_QUIET = re.compile(r"<\?xml.*?\?>|<!--.*?-->|\s", re.DOTALL)


def without_leading_output(page: bytes | str) -> bytes | str:
    """The page from its DOCTYPE or <html> on, when a server wrote something else first (PHP warnings,
    debug output): read as part of the page, it turns the whole document into a fragment."""
    head = page[:65536]
    text = head.decode("latin-1") if isinstance(head, bytes) else head  # for offsets: one char a byte
    start = _MARKUP_START.search(text)
    if start and start.start() and _QUIET.sub("", text[:start.start()]):
        return page[start.start():]
    return page
