"""Spelling normalisation before matching: one form for the letters that Arabic and Persian writers
spell several ways. Topic phrases and article text go through the same function, so a phrase written
either way matches text written either way."""

from __future__ import annotations

import re

import pyarabic.araby as araby

# Persian's own yeh and kaf (ی, ک) against Arabic's (ي, ك): pyarabic names only Arabic's letters,
# and hazm, which knows both, pins numpy 1.24 and pulls in gensim, so the two pairs are named here.
_PERSIAN_YEH, _PERSIAN_KAF = "\u06cc", "\u06a9"
# Persian writes a zero-width non-joiner inside a word ("مذاکره‌ها", "می‌کند") where others put a
# space or nothing: read as a space, a suffix or a verb prefix is a word of its own.
_ZWNJ = "\u200c"

_FOLD = str.maketrans(
    {mark: None for mark in (*araby.TASHKEEL, araby.TATWEEL, *araby.SMALL)}
    | dict.fromkeys((araby.ALEF_MADDA, araby.ALEF_HAMZA_ABOVE, araby.ALEF_HAMZA_BELOW, araby.ALEF_WASLA), araby.ALEF)
    | {araby.ALEF_MAKSURA: araby.YEH, _PERSIAN_YEH: araby.YEH, araby.TEH_MARBUTA: araby.HEH,
       _PERSIAN_KAF: araby.KAF, _ZWNJ: " "}
)

# Most text has none of these letters: a search for one costs far less than translating it all.
_FOLDED = re.compile(f"[{re.escape(''.join(chr(c) for c in _FOLD))}]")


def normalize(text: str) -> str:
    """``text`` with diacritics and tatweel dropped, alef forms as bare alef, alef maksura and Persian
    yeh as yeh, ta marbuta as heh, Persian kaf as kaf, and ZWNJ as a space."""
    return text.translate(_FOLD) if _FOLDED.search(text) else text
