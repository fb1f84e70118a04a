from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Topic:
    """A watch topic compiled from its TOML table: two sides, talks terms and states."""

    id: str
    label: str
    threshold: float
    headline_weight: float
    sentence_weight: float
    side_a: re.Pattern
    side_b: re.Pattern
    terms: re.Pattern
    states: dict[str, re.Pattern]


def load_topics(path: str | Path) -> list[Topic]:
    """Read the topics file; raise ValueError naming the topic and key that is wrong."""
    with open(path, "rb") as f:
        tables = tomllib.load(f).get("topics", {})
    if not tables:
        raise ValueError(f"{path}: no [topics.<id>] table")
    return [_compile(topic_id, table, path) for topic_id, table in tables.items()]


def _compile(topic_id: str, table: dict, path) -> Topic:
    def words(key: str) -> list[str]:
        value = table.get(key)
        if not value or not all(isinstance(w, str) and w.strip() for w in value):
            raise ValueError(f"{path}: topic {topic_id!r} needs a non-empty list of strings in {key!r}")
        return value

    return Topic(
        id=topic_id,
        label=table.get("label", topic_id),
        threshold=float(table.get("threshold", 0.5)),
        headline_weight=float(table.get("headline_weight", 0.6)),
        sentence_weight=float(table.get("sentence_weight", 0.35)),
        side_a=alias_pattern(words("side_a")),
        side_b=alias_pattern(words("side_b")),
        terms=alias_pattern(words("terms")),
        states={state: alias_pattern(phrases) for state, phrases in table.get("states", {}).items()},
    )


def alias_pattern(aliases: list[str]) -> re.Pattern:
    """One regex for whole-word matches; all-capital aliases (US, USA) match case-sensitively."""
    parts = []
    for alias in sorted(set(aliases), key=len, reverse=True):
        body = re.escape(alias.strip()).replace(r"\ ", r"\s+")
        if not (alias.isupper() and any(c.isalpha() for c in alias)):
            body = f"(?i:{body})"
        parts.append(body)
    return re.compile(r"(?<![\w])(?:" + "|".join(parts) + r")(?![\w])")
