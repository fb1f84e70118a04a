"""The optional semantic scorer: how much nearer in meaning a sentence naming both sides is to the
topic's examples than to its counter-examples, by static sentence embeddings (WordLlama, whose
model ships in its wheel: nothing is downloaded). Needs the ``semantic`` extra."""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from pathlib import Path

from ._sentences import split_sentences
from ._topics import Topic


class SemanticUnavailable(RuntimeError):
    """The semantic scorer cannot run: the extra is not installed, or the topic has no examples."""


@dataclass
class SemanticDetection:
    topic: str
    flagged: bool
    # The best sentence's margin: its cosine similarity to the closest example less that to the
    # closest counter-example. None when no sentence names a party of each side.
    score: float | None
    sentence: str | None

    def to_dict(self) -> dict:
        return {"topic": self.topic, "flagged": self.flagged, "score": self.score, "sentence": self.sentence}


_LOADING = threading.Lock()


def _model():
    with _LOADING:  # a model for the whole process, though several threads may ask for it at once
        return _loaded_model()


@functools.cache
def _loaded_model():
    try:
        import wordllama
    except ImportError:
        raise SemanticUnavailable("the semantic scorer needs its extra: pip install 'newswatch[semantic]'") from None
    # WordLlama 0.4 looks for its shipped tokenizer in a "tokenizer" folder of the package, but ships
    # it in "tokenizers", where it looks in a cache folder: the package folder as the cache finds it.
    model = wordllama.WordLlama.load(cache_dir=Path(wordllama.__file__).parent, disable_download=True)
    # The shipped weights are float16, widened to float32 on load: narrowed back, they take half the
    # memory and give the same embeddings, since pooling sums in float32.
    model.embedding = model.embedding.astype("float16")
    return model


@functools.cache
def _embedded(sentences: tuple[str, ...]):
    return _model().embed(list(sentences), norm=True)


def semantic_detect(topic: Topic, *, title: str | None, text: str) -> SemanticDetection:
    """Score one article for one topic with the semantic scorer (see the topic's [semantic] table)."""
    if topic.semantic is None:
        raise SemanticUnavailable(f"topic {topic.id!r} has no [semantic] table of examples")
    _model()  # whether or not the text has a sentence to score: a missing extra is an error
    score, sentence = best_margin(topic, split_sentences(title or "") + split_sentences(text))
    return SemanticDetection(topic.id, flagged=score is not None and score >= topic.semantic.threshold,
                             score=score, sentence=sentence)


def best_margin(topic: Topic, sentences: list[str]) -> tuple[float | None, str | None]:
    """The highest margin among ``sentences`` that name a party of each side, and that sentence;
    (None, None) when none does. The topic must have a [semantic] table."""
    sentences = [s for s in sentences if topic.side_a.search(s) and topic.side_b.search(s)]
    if not sentences:
        return None, None
    embedded = _model().embed(sentences, norm=True)
    margins = ((embedded @ _embedded(topic.semantic.examples).T).max(axis=1)
               - (embedded @ _embedded(topic.semantic.counter_examples).T).max(axis=1))
    best = int(margins.argmax())
    return round(float(margins[best]), 3), sentences[best]


def semantic_detect_topics(topics: list[Topic], *, title: str | None, text: str) -> SemanticDetection:
    """The semantic detection of the highest-scoring topic that has examples (the first on ties)."""
    with_examples = [topic for topic in topics if topic.semantic is not None]
    if not with_examples:
        raise SemanticUnavailable("no topic has a [semantic] table of examples")
    detections = [semantic_detect(topic, title=title, text=text) for topic in with_examples]
    return max(detections, key=lambda d: float("-inf") if d.score is None else d.score)
