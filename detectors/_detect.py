from __future__ import annotations

import re
import warnings
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

from ._language import identify_language
from ._normalize import normalize
from ._semantic import SemanticUnavailable, best_margin
from ._sentences import split_sentences
from ._topics import COMMAS, Topic

# A term's counterparts are named in its clause, each within this many words of the term or of the
# counterpart before it: "a call between Donald Trump and Hassan Rouhani". Words of place, time and
# mediation introduce none (the topic's no_counterpart_words): "met on the sidelines of the UN",
# "exchanged messages through Oman", "a swap mediated by Qatar".
_PARTICIPANT_REACH_WORDS = 5
# A term's subject is named in its own clause: "..., as both governments signaled interest in diplomacy".
_CLAUSE_MARKS = (*COMMAS, ";", "؛", "；", ":", "—", " – ", " - ")
# A negation reaches a state phrase through a verb and an article ("not considering a return to
# talks"), but a term only when right after it ("not talking to"): "would not obstruct negotiations"
# negates the verb, not the talks.
_NEGATED_PHRASE_REACH = 3
_NEGATED_TERM_REACH = 1
# Markers sit in the few words before a mention ("on Syria, Iraq and Iran"): look no further back.
_MARKER_LOOKBACK = 80


@dataclass(frozen=True)
class Detection:
    topic: str
    flagged: bool
    score: float
    evidence: list[str] = field(default_factory=list)
    state: str | None = None
    actors: list[str] = field(default_factory=list)
    terms: list[str] = field(default_factory=list)
    # The semantic second opinion's best margin on the evidence, when the rules fell short of the
    # threshold and the topic asks for one (see _second_opinion); None otherwise.
    second_opinion: float | None = None
    # The topic's label ("US–Iran talks"), and the sentence that names the state (None when the
    # state is the topic's default: no sentence names one).
    label: str | None = None
    state_sentence: str | None = None
    # The article's language (ISO 639-1), as given or identified; None when too short to tell.
    language: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class _Found:
    actors: list[str]
    terms: list[str]


def _participants(topic: Topic, text: str, side: re.Pattern) -> list[re.Match]:
    """Mentions of one side that can be a party to the talks: not those named as the subject matter
    ("talks with Netanyahu about Iran"), as a venue ("met lawmakers in Washington"), or to describe
    people who speak for no government ("American physicists", "physicists from Iran")."""
    def marked(marker: re.Pattern, m: re.Match) -> bool:
        return bool(marker.search(text, max(0, m.start() - _MARKER_LOOKBACK), m.start()))

    return [
        m for m in side.finditer(text)
        if not marked(topic.non_party_marker, m)
        and not topic.describes_non_party.match(text, m.end())
        and not (topic.places.fullmatch(m.group()) and marked(topic.place_marker, m))
    ]


def _not_between_sides(topic: Topic, text: str, term: re.Match, mentions: list[tuple[int, int, str]],
                       earlier: bool | None = None) -> bool:
    """True when the talks of this term include a third party, or stay within one side. The talks
    are between the actors named before the term in its own clause (or the last actor named, when
    the clause names none) and the ones named right after it (an addressed term's addressee is in
    the term): "Lammy met his Iranian counterpart" is British–Iranian, "Saudi Arabia and Iran met"
    is Saudi–Iranian, "met Gulf Arab ministers" includes a third party, "the Security Council held a
    meeting on Thursday" is the Council's, and "Trump told U.S. troops" is American only. Both sides
    among them ("a meeting between Trump and Rouhani") make the talks theirs, whoever else is named.

    A term with no counterparts of its own that refers back to talks named before it in the sentence
    ("Britain's minister met Araghchi, the first such meeting since US strikes") is those talks:
    it takes ``earlier``, the verdict on the sentence's term before it."""
    clause_start = _clause_start(text, term.start())
    before = {kind for start, _, kind in mentions if clause_start <= start < term.start()}
    own_clause = bool(before)
    refers_back = not own_clause or topic.refers_back.search(text, clause_start, term.start())
    if not before:  # a clause with no actor of its own ("..., their first meeting since"): the last one named
        before = {max((m for m in mentions if m[0] < term.start()), default=(0, 0, None))[2]} - {None}
    after, reach_from = [], term.end()
    addressees = {kind for start, _, kind in mentions if term.start() <= start < term.end()}  # "told the U.S."
    for start, end, kind in mentions:
        if start < reach_from:
            continue
        gap = text[reach_from:start]
        between = gap.casefold().split()
        listed = not topic.list_gap.sub("", gap) and after  # "as US, Iran weigh": a list, not a new clause
        if len(between) > _PARTICIPANT_REACH_WORDS or topic.no_counterpart & set(between) \
                or (any(mark in gap for mark in _CLAUSE_MARKS) and not listed):
            break
        after.append(kind)
        reach_from = end
    if earlier is not None and refers_back and not (after or addressees) and not {"a", "b"} <= before:
        return earlier
    if after and after[0] == "third":
        return True
    parties = before | set(after)
    if own_clause and (after or addressees) and len(parties | addressees) == 1:
        return True  # one side talking to itself
    return "third" in parties and not {"a", "b"} <= parties


def _find(topic: Topic, text: str) -> _Found | None:
    """The actors and terms that make ``text`` evidence, or None."""
    if not (topic.side_a.search(text) and topic.side_b.search(text)):
        return None  # most sentences: no party of one side at all
    text = topic.exclusions.sub(lambda m: " " * len(m.group()), text)  # same length: offsets stay valid
    terms = list(topic.terms.finditer(text)) + list(topic.addressed_terms.finditer(text))
    if not terms or topic.off_topic.search(text):
        return None
    side_a = _participants(topic, text, topic.side_a)
    side_b = _participants(topic, text, topic.side_b) if side_a else []
    if not (side_a and side_b):
        return None
    mentions = sorted([(m.start(), m.end(), "a") for m in side_a] + [(m.start(), m.end(), "b") for m in side_b]
                      + [(m.start(), m.end(), "third") for m in topic.third_parties.finditer(text)]
                      + [(m.start(), m.end(), "third") for m in topic.non_parties.finditer(text)])
    kept, excluded = [], None
    for term in sorted(terms, key=re.Match.start):  # in order: a term may take the verdict of the one before
        excluded = _not_between_sides(topic, text, term, mentions, excluded)
        if not excluded:
            kept.append(term)
    if not kept:
        return None
    return _Found(actors=[m.group() for m in side_a + side_b], terms=[t.group() for t in kept])


def _continues(topic: Topic, sentence: str) -> bool:
    """Whether ``sentence`` is about the parties of the sentence before it: it opens with a pronoun,
    names "the two sides", or names no party of either side ("The exchange followed months of
    indirect negotiations mediated by Qatar.")."""
    return bool(topic.continuation.match(sentence) or topic.both_sides.search(sentence)
                or not (topic.side_a.search(sentence) or topic.side_b.search(sentence)))


def detect(topic: Topic, *, title: str | None, text: str, second_opinion: bool = True,
           language: str | None = None) -> Detection:
    """Score one article for one topic, by the topic's lists for the article's ``language`` (identified
    from the text when not given; its own lists when it has none for that language).

    A sentence is evidence when it names a party of each side and a talks term; the headline and the
    lead sentence weigh more than the rest. Two adjacent sentences that are evidence only together
    weigh least, unless the second continues the first (``_continues``): then the pair weighs as the
    first. The state is the one the headline, else the earliest evidence, names first (``_state``).
    Sentences are matched normalised (``normalize``) and quoted as written.

    When the evidence falls short of the threshold and the topic's [semantic] table sets a
    ``second_opinion`` margin, the semantic scorer rates it (``second_opinion=False`` skips that:
    the rules alone, with no model loaded).
    """
    if language is None:
        language = identify_language(f"{title or ''}\n{text}")
    topic = topic.in_language(language)
    whole = normalize(f"{title or ''}\n{text}")
    if not (topic.side_a.search(whole) and topic.side_b.search(whole)
            and (topic.terms.search(whole) or topic.addressed_terms.search(whole))):
        # most articles: no evidence
        return Detection(topic=topic.id, flagged=False, score=0.0, label=topic.label, language=language)
    headline, body = split_sentences(title or ""), split_sentences(text)
    normalized = {sentence: normalize(sentence) for sentence in headline + body}  # each sentence once
    candidates = [(s, topic.headline_weight) for s in headline]
    candidates += [(s, topic.lead_weight if i == 0 else topic.sentence_weight) for i, s in enumerate(body)]
    found = [(sentence, weight, _find(topic, normalized[sentence])) for sentence, weight in candidates]
    body_found = found[len(headline):]
    for (first, first_weight, first_hit), (second, _, second_hit) in zip(body_found, body_found[1:], strict=False):
        if first_hit is None and second_hit is None \
                and (pair_hit := _find(topic, f"{normalized[first]} {normalized[second]}")):
            weight = first_weight if _continues(topic, normalized[second]) else topic.adjacent_weight
            found.append((f"{first} {second}", weight, pair_hit))

    found = [(sentence, weight, hit) for sentence, weight, hit in found if hit is not None]
    margin = None
    if second_opinion and _score(weight for _, weight, _ in found) < topic.threshold:
        found, margin = _second_opinion(topic, found)
    evidence, actors, terms = [], {}, {}
    for sentence, _, hit in found:
        evidence.append(sentence)
        for name in hit.actors:
            actors.setdefault(name.casefold(), name)
        for term in hit.terms:
            terms.setdefault(term.casefold(), term)
    score = _score(weight for _, weight, _ in found)
    state, state_sentence = (None, None)
    if evidence:  # each sentence normalised once: a pair of sentences is the only one not yet
        candidates = headline + [s for s in evidence if s not in headline]
        state, state_sentence = _state(topic, [(s, normalized.get(s) or normalize(s)) for s in candidates])
    return Detection(
        topic=topic.id,
        flagged=score >= topic.threshold,
        score=score,
        evidence=evidence,
        state=state,
        actors=list(actors.values()),
        terms=list(terms.values()),
        second_opinion=margin,
        label=topic.label,
        state_sentence=state_sentence,
        language=language,
    )


def _state(topic: Topic, sentences: list[tuple[str, str]]) -> tuple[str | None, str | None]:
    """The state of the talks the article reports, and the sentence that names it: the state phrase
    that comes first in the first of ``sentences`` that has one (of two that start together, the
    longer). News puts what happened first: the headline, whether or not it is evidence, then the
    lead, and the main clause; what follows is background ("…, after months of stalled talks"). In a
    language that puts the main verb last (``Topic.main_verb_last``), the phrase that ends last. A
    negated phrase ("not considering a return"), or a term right after a negation ("not talking
    to"), names the topic's negated state. With no phrase at all, the state is the topic's default,
    named by no sentence. ``sentences`` are each as written and normalised."""
    order = list(topic.states)
    for written, sentence in sentences:
        # Of one state's phrases, the first can win, or in a verb-final language the last.
        found = [(m, state) for state, pattern in topic.states.items()
                 for m in (pattern.finditer(sentence) if topic.main_verb_last else [pattern.search(sentence)]) if m]
        if topic.negated_state:
            found = [(m, topic.negated_state if _negated(topic, sentence, m.start(), _NEGATED_PHRASE_REACH) else state)
                     for m, state in found]
            found += [(term, topic.negated_state)
                      for pattern in (topic.terms, topic.addressed_terms) for term in pattern.finditer(sentence)
                      if _negated(topic, sentence, term.start(), _NEGATED_TERM_REACH)]
        if found:
            # The phrase (or negated term) that starts first, or in a verb-final language ends last;
            # then the longer; then the state listed first.
            return min(found, key=lambda f: (-f[0].end() if topic.main_verb_last else f[0].start(),
                                             f[0].start() - f[0].end(), order.index(f[1])))[1], written
    return topic.default_state, None


def _negated(topic: Topic, sentence: str, start: int, reach: int) -> bool:
    """Whether one of the ``reach`` words before ``start``, in its clause, is a negation."""
    words_before = sentence[_clause_start(sentence, start):start].split()[-reach:]
    return bool(topic.negation.search(" ".join(words_before)))


def _clause_start(text: str, position: int) -> int:
    """Where the clause that holds ``position`` begins: after the last clause mark before it."""
    return max(text.rfind(mark, 0, position) for mark in _CLAUSE_MARKS) + 1


def _score(weights: Iterable[float]) -> float:
    """1 - the product of (1 - weight): each piece of evidence makes a miss less likely."""
    miss = 1.0
    for weight in weights:
        miss *= 1.0 - weight
    return round(min(1.0, 1.0 - miss), 3)


def _second_opinion(topic: Topic, found: list[tuple[str, float, _Found]]) -> tuple[list, float | None]:
    """The evidence after the topic's semantic second opinion, and the best margin it gave (None when
    it gave none). A piece of evidence that weighs less than the lead sentence weighs as much as the
    lead when the semantic scorer's margin on it is the topic's ``second_opinion`` or more."""
    wanted = topic.semantic.second_opinion if topic.semantic else None
    if wanted is None:
        return found, None
    try:
        margins = [best_margin(topic, split_sentences(sentence))[0] if weight < topic.lead_weight else None
                   for sentence, weight, _ in found]
    except SemanticUnavailable as exc:
        warnings.warn(f"{exc}. Topic {topic.id!r} asks for a semantic second opinion: without it, only its "
                      "rules flag articles", stacklevel=3)
        return found, None
    confirmed = [(sentence, topic.lead_weight if margin is not None and margin >= wanted else weight, hit)
                 for (sentence, weight, hit), margin in zip(found, margins, strict=True)]
    return confirmed, max((m for m in margins if m is not None), default=None)


def detect_each(topics: list[Topic], *, title: str | None, text: str, second_opinion: bool = True,
                language: str | None = None) -> list[Detection]:
    """The detection of every topic, the highest-scoring first (in the order listed on ties): an
    article may report several topics' talks. ``language`` as for ``detect``."""
    if language is None:
        language = identify_language(f"{title or ''}\n{text}")
    detections = [detect(t, title=title, text=text, second_opinion=second_opinion, language=language) for t in topics]
    return sorted(detections, key=lambda d: -d.score)


def detect_topics(topics: list[Topic], *, title: str | None, text: str, second_opinion: bool = True,
                  language: str | None = None) -> Detection:
    """The detection of the highest-scoring topic (the first listed on ties)."""
    return detect_each(topics, title=title, text=text, second_opinion=second_opinion, language=language)[0]


def with_second_opinion(topics: list[Topic], detections: list[Detection], *, title: str | None,
                        text: str) -> list[Detection]:
    """``detections`` (``detect_each``'s, made with ``second_opinion=False``) as ``detect_each`` would
    have made them with one: a topic is detected again only when the rules found evidence short of
    its threshold, which is all a second opinion ever changes. So a process that detects many
    articles need not load the model."""
    by_id = {topic.id: topic for topic in topics}
    again = [detection if detection.flagged or not detection.evidence
             else detect(by_id[detection.topic], title=title, text=text, language=detection.language)
             for detection in detections]
    return sorted(again, key=lambda d: -d.score)
