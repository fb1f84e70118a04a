from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class AlertChannel:
    """An alert channel as the store knows it: a hash of its URL and a masked label, never the URL."""

    key: str
    label: str
    # What the channel is told: "each" (every newly flagged story), "state" (and every change of a
    # flagged story's state) or "digest" (both, gathered into one message per delivery).
    mode: str = "state"

    @property
    def follows_states(self) -> bool:
        return self.mode != "each"


@dataclass(frozen=True)
class SavedArticle:
    article_id: int
    story_id: int
    # "new": a new story; "duplicate": joins the story of a stored article with the same canonical
    # URL or text; "known": this URL was already stored with this text, nothing was written;
    # "revised": this URL was stored with other text, now replaced (the old text is kept).
    status: str
    duplicate_of: int | None = None
    alerts_enqueued: int = 0


@dataclass(frozen=True)
class PendingAlert:
    """An outbox row with what a message needs."""

    alert_id: int
    channel: str
    story_id: int
    attempts: int
    title: str | None
    url: str
    outlet: str | None
    published: str | None
    state: str | None
    score: float
    evidence: list[str] = field(default_factory=list)
    matched: list[str] = field(default_factory=list)
    # The other outlets that carried the story, each {"outlet", "url"}: its first copy there.
    also_reported_by: list[dict] = field(default_factory=list)
    topic: str | None = None
    topic_label: str | None = None
    # The story's state before this change: None for its first alert.
    previous_state: str | None = None
    # The sentence that moved the story to ``state`` (None when no sentence names it).
    state_sentence: str | None = None
    # "new": the story's first alert on its topic; "state": a change of its state since.
    kind: str = "new"
    # The article's language (ISO 639-1), as identified when it was extracted.
    language: str | None = None
