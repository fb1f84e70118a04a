"""Which charset a page's bytes are read in."""

from __future__ import annotations

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
