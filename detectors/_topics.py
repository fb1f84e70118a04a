from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ._normalize import normalize

_NEVER = re.compile(r"(?!)")
# One word of a list or phrase, as the subject and non-party patterns read them.
_ITEM = r"[\w'’.-]+"
_WORD = re.compile(r"\w+")
# The commas that separate the items of a list: Latin, Arabic and CJK.
COMMAS = ",،、，"


@dataclass(frozen=True)
class Spelling:
    """How a language writes a word of a topic's lists in running text: with a clitic written onto
    its front ("وطهران", "and Tehran") or its end ("مفاوضاتها", "its talks"); without its definite
    article, which a clitic may swallow ("للولايات المتحدة": "to the United States", ل + الولايات);
    and whether a hyphen followed by a lowercase word makes a modifier ("Iran-backed"), as in English
    but not in German ("US-iranische Gespräche")."""

    prefixes: tuple[str, ...] = ()
    suffixes: tuple[str, ...] = ()
    hyphen_modifiers: bool = True
    definite_article: str | None = None


@dataclass(frozen=True)
class NameMatch:
    """A name found in a text, shaped like a regex match where the detector reads one."""

    begin: int
    finish: int
    text: str

    def start(self) -> int:
        return self.begin

    def end(self) -> int:
        return self.finish

    def group(self) -> str:
        return self.text


class NameIndex:
    """Whole-word, case-insensitive lookup of many names (hundreds of countries, people, groups):
    word sequences looked up in a dictionary, far faster than one regex of hundreds of alternatives."""

    def __init__(self, names: list[str], spelling: Spelling | None = None):
        self._keys = {tuple(_WORD.findall(normalize(name).casefold())) for name in names} - {()}
        self._first_words = {key[0] for key in self._keys}
        self._longest = max((len(key) for key in self._keys), default=0)
        # Each word of a name with the clitics its language writes onto it ("وروسيا": "and Russia"),
        # to the bare word: built once, so that reading a text costs one lookup a word. A name's own
        # word is never read as another's with a clitic.
        self._bare: dict[str, str] = {}
        if spelling and (spelling.prefixes or spelling.suffixes):
            words = {word for key in self._keys for word in key}
            prefixes, suffixes = ("", *map(normalize, spelling.prefixes)), ("", *map(normalize, spelling.suffixes))
            article = spelling.definite_article or "\0"
            stems = {word: {word, word.removeprefix(article)} for word in words}  # "الصين": "للصين" too
            self._bare = {prefix + stem + suffix: word for word in words for stem in stems[word]
                          for prefix in prefixes[1:] for suffix in suffixes}
            self._bare |= {word + suffix: word for word in words for suffix in suffixes}
            self._bare.update((word, word) for word in words)

    def finditer(self, text: str) -> list[NameMatch]:
        spans = [m.span() for m in _WORD.finditer(text)]
        words = [text[begin:finish].casefold() for begin, finish in spans]
        if self._bare:
            words = [self._bare.get(word, word) for word in words]
        found, i = [], 0
        while i < len(words):
            if words[i] in self._first_words:  # most words start no name: skip the longer lookups
                for size in range(min(self._longest, len(words) - i), 0, -1):
                    if tuple(words[i:i + size]) in self._keys:
                        begin, finish = spans[i][0], spans[i + size - 1][1]
                        found.append(NameMatch(begin, finish, text[begin:finish]))
                        i += size - 1
                        break
            i += 1
        return found


@dataclass(frozen=True)
class SemanticExamples:
    """What the optional semantic scorer compares a topic's sentences with (its [semantic] table)."""

    threshold: float
    examples: tuple[str, ...]
    counter_examples: tuple[str, ...]
    # The margin at which the scorer confirms evidence the rules found too weak; None: never asked.
    second_opinion: float | None = None


@dataclass(frozen=True)
class Topic:
    """A watch topic compiled from its TOML table (see seeds/topics.toml for the format)."""

    id: str
    label: str
    threshold: float
    headline_weight: float
    lead_weight: float
    sentence_weight: float
    adjacent_weight: float
    side_a: re.Pattern
    side_b: re.Pattern
    terms: re.Pattern
    # Verbs that count as a term only when they address a side: "has told the U.S.".
    addressed_terms: re.Pattern
    third_parties: NameIndex
    # People and bodies that speak for no government ("physicists", "universities"): third parties.
    non_parties: re.Pattern
    # Matches right after a side's name that describes non-party people: "(American) physicists".
    describes_non_party: re.Pattern
    # Matches at the end of the text before a side's name that is no party: the subject matter
    # ("talks on Iran") or where non-party people are from ("physicists from Iran").
    non_party_marker: re.Pattern
    places: re.Pattern
    # Matches at the end of the text before a place named as a venue: "met lawmakers in".
    place_marker: re.Pattern
    exclusions: re.Pattern
    off_topic: re.Pattern
    states: dict[str, re.Pattern]
    # Words that negate the state phrase or term just after them ("not considering a return to
    # talks"), the state a negated one names, and the state of talks no phrase describes.
    negation: re.Pattern = _NEVER
    negated_state: str | None = None
    default_state: str | None = None
    semantic: SemanticExamples | None = None
    # The grammar words of the topic's language (see seeds/topics.toml): what joins a list of actors,
    # the words after a term that introduce no counterpart, the openers of a sentence that continues
    # the one before, the phrases naming both sides, and what makes a term refer back.
    list_gap: re.Pattern = _NEVER
    no_counterpart: frozenset[str] = frozenset()
    continuation: re.Pattern = _NEVER
    both_sides: re.Pattern = _NEVER
    refers_back: re.Pattern = _NEVER
    # Whether the language puts the main verb at the end of its clause (Persian, Turkish, Japanese):
    # then a sentence's last state phrase, not its first, names what happened.
    main_verb_last: bool = False
    # The language the lists are written in, and the topic in each other language it has lists for.
    language: str = "en"
    languages: dict[str, Topic] = field(default_factory=dict)

    def in_language(self, language: str | None) -> Topic:
        """The topic with the lists of ``language``, or its own when it has none for that language."""
        return self.languages.get(language, self) if language else self


# What a topic that ``extends`` another does not inherit: its own name, its two sides, and the
# semantic scorer's examples, which name those sides. Its [languages.<code>] tables are inherited
# the same way: each language's words, but not its sides.
_NOT_INHERITED = {"label", "side_a", "side_b", "semantic", "extends"}
# What a [languages.<code>] table takes from its topic: the rest is its language's own.
_LANGUAGE_SHARED = ("label", "threshold", "headline_weight", "lead_weight", "sentence_weight", "adjacent_weight",
                    "negated_state", "default_state")


def load_topics(path: str | Path) -> list[Topic]:
    """Read the topics file, its includes, defaults and extended topics; raise ValueError (one line)
    naming the file, topic and key that is wrong."""
    tables = _read_topic_tables(Path(path), seen=())
    if not tables:
        raise ValueError(f"{path}: no [topics.<id>] table")
    resolved: dict[str, dict] = {}
    for topic_id in tables:
        _resolve(topic_id, tables, resolved, chain=())
    return [_compile(topic_id, resolved[topic_id], tables[topic_id][1]) for topic_id in tables]


def _read_toml(path: Path, *, named_by: Path | None = None) -> dict:
    where = f"{named_by}: include {path.name!r}: " if named_by else ""
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except OSError as exc:
        raise ValueError(f"{where}{path}: cannot read the topics file ({exc.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{where}{path}: not valid TOML: {exc}") from None


def _read_topic_tables(path: Path, *, seen: tuple[Path, ...], named_by: Path | None = None) -> dict[str, tuple]:
    """{topic id: (its table over the file's [defaults], the file it is in)} of this file and the
    files it includes (each found relative to the file that names it), included ones first."""
    if path.resolve() in seen:
        raise ValueError(f"{named_by}: include {path.name!r}: {path} includes itself in the end")
    data = _read_toml(path, named_by=named_by)
    defaults = _with_absolute_files(data.get("defaults", {}), path)
    tables: dict[str, tuple] = {}
    includes = data.get("include", [])
    if not (isinstance(includes, list) and all(isinstance(name, str) for name in includes)):
        raise ValueError(f"{path}: include must be a list of file names")
    found = [_read_topic_tables(path.parent / name, seen=(*seen, path.resolve()), named_by=path) for name in includes]
    for topic_id, table in data.get("topics", {}).items():
        if not isinstance(table, dict):
            raise ValueError(f"{path}: topics.{topic_id} must be a table")
        found.append({topic_id: (_merged(defaults, _with_absolute_files(table, path)), path)})
    for file_tables in found:
        for topic_id, (table, where) in file_tables.items():
            # A topic that several files have (one adds a language to it): their tables, merged.
            tables[topic_id] = (_merged(tables[topic_id][0], table), where) if topic_id in tables else (table, where)
    return tables


def _with_absolute_files(table: dict, path: Path) -> dict:
    """The table (and its languages' tables) with its third_parties_files made relative to nothing:
    a topic that inherits them from another file still finds them beside that file."""
    if isinstance(table.get("languages"), dict):
        table = {**table, "languages": {code: _with_absolute_files(words, path) if isinstance(words, dict) else words
                                        for code, words in table["languages"].items()}}
    if "third_parties_files" not in table:
        return table
    return {**table, "third_parties_files": [str(path.parent / name) for name in table["third_parties_files"]]}


def _merged(base: dict, own: dict) -> dict:
    """``own`` over ``base``; their [states] tables are merged state by state, their [languages]
    tables language by language."""
    merged = {**base, **own}
    if isinstance(base.get("states"), dict) and isinstance(own.get("states"), dict):
        merged["states"] = {**base["states"], **own["states"]}
    if isinstance(base.get("languages"), dict) and isinstance(own.get("languages"), dict):
        merged["languages"] = {code: _merged(base["languages"].get(code, {}), own["languages"].get(code, {}))
                               for code in base["languages"].keys() | own["languages"].keys()}
    return merged


def _resolve(topic_id: str, tables: dict[str, tuple], resolved: dict[str, dict], chain: tuple[str, ...]) -> dict:
    """A topic's table with what it ``extends`` filled in (every key but _NOT_INHERITED)."""
    if topic_id in resolved:
        return resolved[topic_id]
    table, path = tables[topic_id]
    base_id = table.get("extends")
    if base_id is None:
        resolved[topic_id] = table
        return table
    if base_id not in tables:
        raise ValueError(f"{path}: topic {topic_id!r} extends {base_id!r}, which no topics file here defines")
    if base_id in chain or base_id == topic_id:
        loop = " → ".join((*chain, topic_id, base_id))
        raise ValueError(f"{path}: topic {topic_id!r} extends itself in the end ({loop})")
    base = _resolve(base_id, tables, resolved, (*chain, topic_id))
    inherited = {key: value for key, value in base.items() if key not in _NOT_INHERITED}
    inherited["languages"] = {code: {key: value for key, value in words.items() if key not in _NOT_INHERITED}
                              for code, words in base.get("languages", {}).items()}
    resolved[topic_id] = _merged(inherited, table)
    return resolved[topic_id]


def _names_from_files(table: dict, path: Path, topic_id: str) -> list[str]:
    """The names in the files a topic's third_parties_files lists (relative to the file that lists them)."""
    names = []
    for name in table.get("third_parties_files", []):
        try:
            with open(path.parent / name, "rb") as f:
                names += tomllib.load(f).get("names", [])
        except (OSError, tomllib.TOMLDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else exc
            raise ValueError(f"{path}: topic {topic_id!r}: cannot read {path.parent / name} ({reason})") from None
    return names


def _compile(topic_id: str, table: dict, path: Path) -> Topic:
    """The topic in its own language, with its [languages.<code>] tables compiled beside it."""
    languages = table.get("languages", {})
    if not (isinstance(languages, dict) and all(isinstance(words, dict) for words in languages.values())):
        raise ValueError(f"{path}: topic {topic_id!r}: languages must hold one table per language code")
    language = table.get("language", "en")
    # A table a topic inherited without its sides (it extends another topic) has no topic of its own.
    shared = {key: table[key] for key in _LANGUAGE_SHARED if key in table}
    in_languages = {code: _compile_language(topic_id, shared | words, path, code) for code, words in languages.items()
                    if code != language and ("side_a" in words or "side_b" in words)}
    return _compile_language(topic_id, table, path, language, in_languages)


def _compile_language(topic_id: str, table: dict, path: Path, language: str,
                      languages: dict[str, Topic] | None = None) -> Topic:
    where = f"{path}: topic {topic_id!r}" + ("" if languages is not None else f", language {language!r}")

    def words(key: str, *, required: bool = True, within: dict = table) -> list[str]:
        value = within.get(key, [])
        if (required and not value) or not all(isinstance(w, str) and w.strip() for w in value):
            raise ValueError(f"{where} needs a non-empty list of strings in {key!r}")
        return value

    def weight(key: str, default: float) -> float:
        value = float(table.get(key, default))
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{where}: {key} must be between 0 and 1")
        return value

    article = table.get("definite_article")
    if article is not None and not (isinstance(article, str) and article.strip()):
        raise ValueError(f"{where}: definite_article must be a word")
    spelling = Spelling(tuple(words("prefixes", required=False)), tuple(words("suffixes", required=False)),
                        bool(table.get("hyphen_modifiers", True)), article and normalize(article))

    def pattern(key: str, *, required: bool = False) -> re.Pattern:
        return alias_pattern(words(key, required=required), spelling)

    side_a, side_b = pattern("side_a", required=True), pattern("side_b", required=True)
    third_parties = _other_parties(words("third_parties", required=False) + _names_from_files(table, path, topic_id),
                                   words("side_a") + words("side_b"))
    joiners = "|".join(re.escape(normalize(w)) for w in words("list_words", required=False)) or "(?!)"
    determiners = "|".join(re.escape(normalize(w)) for w in words("determiners", required=False)) or "(?!)"
    determiner = rf"(?:(?:{determiners})\s+)?"
    # A word of a subject's phrase, which never introduces a counterpart: "sobre el programa nuclear
    # con Estados Unidos" names the United States as a party, after all.
    counterpart = "|".join(re.escape(normalize(w)) for w in words("counterpart_words", required=False))
    item = rf"(?!(?:{counterpart})\s){_ITEM}" if counterpart else _ITEM
    non_parties = words("non_parties", required=False)
    non_party = alias_pattern(non_parties, spelling)
    markers = words("subject_markers", required=False) + [f"{name} {word}" for name in non_parties
                                                         for word in words("origin_words", required=False)]
    head_words = _count(table, "marked_noun_words", where)
    if head_words:  # a language that puts the noun first describes people after it: "journalistes américains"
        markers += non_parties
    states = {state: alias_pattern(phrases, spelling) for state, phrases in table.get("states", {}).items()}
    for key in ("negated_state", "default_state"):
        if key in table and not (isinstance(table[key], str) and table[key] in states):
            raise ValueError(f"{where}: {key} {table[key]!r} is not one of its [states]")
    addressed = words("addressed_terms", required=False)
    return Topic(
        id=topic_id,
        label=table.get("label", topic_id),
        threshold=weight("threshold", 0.5),
        headline_weight=weight("headline_weight", 0.6),
        lead_weight=weight("lead_weight", 0.5),
        sentence_weight=weight("sentence_weight", 0.35),
        adjacent_weight=weight("adjacent_weight", 0.2),
        side_a=side_a,
        side_b=side_b,
        terms=pattern("terms", required=True),
        addressed_terms=re.compile(
            alias_pattern(addressed, spelling).pattern + rf"\s+{determiner}(?:{side_a.pattern}|{side_b.pattern})"
        ) if addressed else _NEVER,
        third_parties=NameIndex(third_parties, spelling),
        non_parties=non_party,
        # What may stand between a side's name and the non-party people it describes: a possessive,
        # or other names of a list ("Iran's scientists", "Iranian and American physicists"). Not any
        # word: "Trump told reporters".
        describes_non_party=re.compile(rf"(?:['’]s)?(?:\s*[{COMMAS}]\s*{item}|\s+(?:{joiners})\s+{item}){{0,2}}\s+"
                                       + non_party.pattern) if non_parties else _NEVER,
        # What may stand between a subject marker and the party it marks: a determiner, up to two
        # items of a list, each of one or two words ("on Syria, Iran", "discussed arms control, trade
        # and Iran"), and the words of a noun that the language puts before the party it belongs to
        # ("درباره برنامه هسته‌ای ایران": "about the nuclear programme of Iran"); in a language that
        # does, a list item may be as many words longer ("del alto el fuego en Gaza y de la amenaza iraní").
        non_party_marker=_ending(markers, rf"\s+{determiner}(?:{item}(?:\s+{item}){{0,{head_words + 1}}}"
                                          rf"(?:[{COMMAS}]|[{COMMAS}]?\s+(?:{joiners}))\s+){{0,2}}"
                                          rf"(?:{item}\s+){{0,{head_words}}}\Z", spelling),
        places=pattern("places"),
        place_marker=_ending(words("place_markers", required=False), rf"\s+{determiner}\Z", spelling),
        exclusions=pattern("exclusions"),
        off_topic=pattern("off_topic"),
        states=states,
        negation=pattern("negations"),
        negated_state=table.get("negated_state"),
        default_state=table.get("default_state"),
        semantic=_semantic_examples(table.get("semantic"), words, where),
        list_gap=re.compile(rf"[\s{COMMAS}]|\b(?:{joiners})\b"),
        no_counterpart=frozenset(normalize(w).casefold() for w in words("no_counterpart_words", required=False)),
        # Case-sensitive: a pronoun opens the sentence ("They met"), not the word "they" anywhere.
        continuation=re.compile(rf"(?:{'|'.join(map(re.escape, words('continuation_words', required=False)))})\b")
        if table.get("continuation_words") else _NEVER,
        both_sides=pattern("both_sides"),
        refers_back=re.compile(rf"\b(?:{'|'.join(map(re.escape, words('refers_back_words', required=False)))})\s+$",
                               re.IGNORECASE) if table.get("refers_back_words") else _NEVER,
        main_verb_last=bool(table.get("main_verb_last", False)),
        language=language,
        languages=languages or {},
    )


def _count(table: dict, key: str, where: str) -> int:
    value = table.get(key, 0)
    if not (isinstance(value, int) and 0 <= value <= 5):
        raise ValueError(f"{where}: {key} must be a whole number from 0 to 5")
    return value


def _semantic_examples(table: object, words, where: str) -> SemanticExamples | None:
    """The topic's [semantic] table, checked; None when it has none."""
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ValueError(f"{where}: semantic must be a table")
    margins = {key: table[key] for key in ("threshold", "second_opinion") if key in table}
    for key, margin in margins.items():
        if not (isinstance(margin, int | float) and -1.0 <= margin <= 1.0):
            raise ValueError(f"{where}: semantic {key} must be a number between -1 and 1")
    return SemanticExamples(margins.get("threshold", 0.0), tuple(words("examples", within=table)),
                            tuple(words("counter_examples", within=table)), margins.get("second_opinion"))


def _other_parties(names: list[str], sides: list[str]) -> list[str]:
    """Third parties, less any name that is one of the topic's sides."""
    own = {name.casefold() for name in sides}
    return [name for name in names if name.casefold() not in own]


def _ending(words: list[str], tail: str, spelling: Spelling) -> re.Pattern:
    """A pattern for text that ends in one of ``words`` followed by ``tail``."""
    return re.compile(alias_pattern(words, spelling).pattern + tail) if words else _NEVER


# What a ``*`` in an alias stands for: one word, hyphenated or not.
_ANY_WORD = r"\w+(?:-\w+)*"
# What may come before an alias that starts with a hyphen: the words of a compound ("Atom", "Atom-").
_COMPOUND_HEAD = r"(?:\w+-?)?"
# An apostrophe in an alias matches the typographic one too: "won't" and "won’t".
_APOSTROPHE = "['’]"


def alias_pattern(aliases: list[str], spelling: Spelling = Spelling()) -> re.Pattern:
    """One regex for whole-word matches of normalised text; all-capital aliases (US, USA) match
    case-sensitively, a ``*`` stands for any one word, hyphenated ones included ("reached * *
    agreement" matches "reached a long-term agreement"), and an alias that starts with a hyphen is
    also the end of a compound ("-gespräche" matches "Atomgespräche" and "Atom-Gespräche"). The other
    aliases share their common beginnings ("talk(?:s|ed|ing...)"): a regex tries each alternative in
    turn at every position, so a topic's hundred terms as a flat list cost about four times as much
    to search."""
    if not aliases:
        return _NEVER
    trie: dict = {}
    exact = []
    aliases = {normalize(alias) for alias in aliases}
    if spelling.definite_article:
        aliases |= {alias.removeprefix(spelling.definite_article) for alias in aliases
                    if alias.startswith(spelling.definite_article) and len(alias) > len(spelling.definite_article) + 1}
    for alias in aliases:
        tokens = _alias_tokens(alias)
        if alias.isupper() and any(c.isalpha() for c in alias):
            exact.append("".join(tokens))
            continue
        node = trie
        for token in tokens:
            node = node.setdefault(token.lower(), {})
        node[""] = {}  # an alias ends here
    parts = sorted(exact, key=len, reverse=True) + ([f"(?i:{_trie_pattern(trie)})"] if trie else [])
    prefix = _clitics(spelling.prefixes)
    suffix = _clitics(spelling.suffixes)
    # A hyphen followed by a lowercase word makes a modifier, not a name: "Iran-backed", "US-led".
    modifier = r"(?!-[a-z])" if spelling.hyphen_modifiers else ""
    return re.compile(rf"(?<![\w]){prefix}(?:" + "|".join(parts) + rf"){suffix}(?![\w]){modifier}")


def _clitics(clitics: tuple[str, ...]) -> str:
    """An optional group of ``clitics``, the longest tried first."""
    if not clitics:
        return ""
    return "(?:" + "|".join(re.escape(normalize(c)) for c in sorted(clitics, key=len, reverse=True)) + ")?"


def _alias_tokens(alias: str) -> list[str]:
    """An alias as regex pieces: one per character, a space run as ``\\s+``, a ``*`` as any word."""
    tokens = []
    if alias.startswith("-") and len(alias) > 1:  # the end of a compound: "-gespräche"
        tokens.append(_COMPOUND_HEAD)
        alias = alias[1:]
    for word in alias.split():
        if tokens and tokens[-1] != _COMPOUND_HEAD:
            tokens.append(r"\s+")
        tokens += [_ANY_WORD if char == "*" else _APOSTROPHE if char in "'’" else re.escape(char) for char in word]
    return tokens


def _trie_pattern(trie: dict) -> str:
    """The regex of a trie of alias tokens; a longer alias is tried before one that ends sooner."""
    branches = [token + _trie_pattern(rest) for token, rest in sorted(trie.items()) if token]
    if len(branches) == 1 and "" not in trie:
        return branches[0]
    group = "(?:" + "|".join(branches) + ")"
    return group + "?" if "" in trie else group
