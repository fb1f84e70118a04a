"""Which language an article is written in: py3langid's model, on the headline and the text's opening."""

from __future__ import annotations

import threading

from py3langid.langid import MODEL_FILE, LanguageIdentifier

# The opening says which language an article is in as surely as the whole, at a fraction of the cost.
_SAMPLE_CHARS = 1500
# Below this probability the answer is a guess (a headline of names and numbers): no language.
_MIN_PROBABILITY = 0.5


# The model takes about 70 MB and a second to load: once a process, though a run's sources are
# collected in threads that all want it at the same moment.
_loading = threading.Lock()
_loaded: list[LanguageIdentifier] = []


def _identifier() -> LanguageIdentifier:
    if not _loaded:
        with _loading:
            if not _loaded:
                _loaded.append(LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True))
    return _loaded[0]


def identify_language(text: str) -> str | None:
    """The ISO 639-1 code of the language ``text`` is written in ("en", "fa", "ar"), or None when
    there are too few words to tell."""
    sample = text[:_SAMPLE_CHARS]
    if sum(char.isalpha() for char in sample[:200]) < 12:
        return None
    language, probability = _identifier().classify(sample)
    return language if probability >= _MIN_PROBABILITY else None
