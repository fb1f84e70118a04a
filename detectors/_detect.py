from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ._sentences import split_sentences
from ._topics import Topic


@dataclass(frozen=True)
class Detection:
    topic: str
    flagged: bool
    score: float
    evidence: list[str] = field(default_factory=list)
    state: str | None = None
    actors: list[str] = field(default_factory=list)
    terms: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def detect(topic: Topic, *, title: str | None, text: str) -> Detection:
    """Score one article for one topic.

    A sentence is evidence when it names an actor of each side and a talks term. The headline's
    evidence weighs more than the body's; the state is the one most evidence sentences report.
    """
    candidates = [(s, topic.headline_weight) for s in split_sentences(title or "")]
    candidates += [(s, topic.sentence_weight) for s in split_sentences(text)]
    evidence, actors, terms = [], {}, {}
    state_votes: dict[str, float] = {}
    miss = 1.0
    for sentence, weight in candidates:
        side_a = topic.side_a.findall(sentence)
        side_b = topic.side_b.findall(sentence)
        found_terms = topic.terms.findall(sentence)
        if not (side_a and side_b and found_terms):
            continue
        evidence.append(sentence)
        miss *= 1.0 - weight
        for name in side_a + side_b:
            actors.setdefault(name.casefold(), name)
        for term in found_terms:
            terms.setdefault(term.casefold(), term)
        for state, pattern in topic.states.items():
            if pattern.search(sentence):
                state_votes[state] = state_votes.get(state, 0.0) + weight
    score = round(min(1.0, 1.0 - miss), 3)
    order = list(topic.states)
    state = max(state_votes, key=lambda s: (state_votes[s], -order.index(s))) if state_votes else None
    return Detection(
        topic=topic.id,
        flagged=score >= topic.threshold,
        score=score,
        evidence=evidence,
        state=state,
        actors=list(actors.values()),
        terms=list(terms.values()),
    )


def detect_topics(topics: list[Topic], *, title: str | None, text: str) -> Detection:
    """The detection of the highest-scoring topic (the first listed on ties)."""
    return max((detect(t, title=title, text=text) for t in topics), key=lambda d: d.score)
