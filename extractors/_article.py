from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Removal:
    """A piece of the page dropped as site chrome, and the rule that dropped it."""

    reason: str
    text: str


@dataclass(frozen=True)
class Article:
    url: str | None
    canonical_url: str | None
    title: str | None
    text: str
    author: str | None = None
    published: str | None = None
    language: str | None = None
    site_name: str | None = None
    removed: list[Removal] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)
