"""A small rule-based sentence splitter, fast enough for every article of a run."""

from __future__ import annotations

import re

# A sentence ends at . ! ? or Arabic's ؟ and Urdu's ۔ (with any closing quotes or brackets) before a
# capital, a digit or a letter of a script without capitals (Arabic, Hebrew); at a CJK full stop, with
# or without a space after it; or at a line break.
_END = re.compile(r"[.!?؟۔][\"”’»)\]]*(?=\s+[\"“‘«„(\[]?[A-Z0-9À-ÖØ-ÞА-ЯЁΑ-Ω\u0590-\u06ff])"
                  r"|[。！？][」』”）]*|\n")
# A piece ending in one of these is not a sentence end ("U.S. officials", "Mr. Zarif").
_ABBREVIATION = re.compile(
    r"(?:\b(?:[A-Z]\.){1,3}|\b(?:Mr|Mrs|Ms|Dr|Gen|Sen|Rep|Gov|Lt|Col|Capt|St|Jr|Sr|Prof|No|vs|Jan|Feb|Aug"
    r"|Sept|Sep|Oct|Nov|Dec|Inc|Corp|Co)\.)$"
)
# Matching within a sentence costs time with the square of its mentions: a "sentence" longer than
# any a writer makes (a table, a list run together, a hostile page) is cut into pieces this long.
MAX_SENTENCE_CHARS = 2000


def split_sentences(text: str) -> list[str]:
    return [piece for sentence in _sentences(text) for piece in _pieces(sentence)]


def _pieces(sentence: str) -> list[str]:
    """A sentence in pieces of at most MAX_SENTENCE_CHARS, cut at a space where there is one."""
    pieces = []
    while len(sentence) > MAX_SENTENCE_CHARS:
        cut = sentence.rfind(" ", MAX_SENTENCE_CHARS // 2, MAX_SENTENCE_CHARS) + 1 or MAX_SENTENCE_CHARS
        pieces.append(sentence[:cut].strip())
        sentence = sentence[cut:].strip()
    return [*pieces, sentence] if sentence else pieces


def _sentences(text: str) -> list[str]:
    sentences: list[str] = []
    start = 0
    pending = ""
    for end in [m.end() for m in _END.finditer(text)] + [len(text)]:
        piece = text[start:end].strip()
        start = end
        if not piece:
            continue
        pending = f"{pending} {piece}" if pending else piece
        if not _ABBREVIATION.search(pending):
            sentences.append(pending)
            pending = ""
    if pending:
        sentences.append(pending)
    return sentences
