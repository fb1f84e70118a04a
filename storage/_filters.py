"""Which stored articles or stories a listing, a search, the feed or a report covers, as SQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

# An article's day: the date it was published, or the day it was fetched when the page gave none.
ARTICLE_DAY = "substr(coalesce(articles.published, articles.fetched_at), 1, 10)"


@dataclass(frozen=True)
class Filters:
    """What to keep; each field left empty keeps everything. Days are inclusive."""

    since: date | None = None
    until: date | None = None
    sources: tuple[str, ...] = ()
    topic: str | None = None
    # A state as the topics file names it ("held or ongoing"): the article's or the story's current one.
    state: str | None = None
    language: str | None = None
    flagged: bool = False

    def articles(self) -> tuple[str, list]:
        """(``where`` clauses joined by ``and``, or "1"; their parameters) over table ``articles``."""
        clauses, params = self._days(ARTICLE_DAY)
        if self.sources:
            clauses.append(f"articles.source in ({','.join('?' * len(self.sources))})")
            params += self.sources
        if self.language:
            clauses.append("articles.language = ?")
            params.append(self.language)
        if self.topic:
            # The article reports the topic (evidence of it), flagged or not unless asked.
            clauses.append("exists (select 1 from article_topics where article_topics.article_id = articles.id "
                           "and article_topics.topic = ?" + " and article_topics.flagged = 1" * self.flagged
                           + " and article_topics.state = ?" * bool(self.state) + ")")
            params += [self.topic, *([self.state] if self.state else [])]
        else:
            if self.flagged:
                clauses.append("articles.flagged = 1")
            if self.state:
                clauses.append("articles.state = ?")
                params.append(self.state)
        return " and ".join(clauses) or "1", params

    def stories(self) -> tuple[str, list]:
        """The same over table ``stories``: a story's day is its first article's, its sources and
        languages those of any copy, its topics those that flagged it, with their current state."""
        clauses, params = self._days(f"(select min({ARTICLE_DAY}) from articles where articles.story_id = stories.id)")
        if self.sources:
            clauses.append(f"exists (select 1 from articles where articles.story_id = stories.id and articles.source "
                           f"in ({','.join('?' * len(self.sources))}))")
            params += self.sources
        if self.language:
            clauses.append("exists (select 1 from articles where articles.story_id = stories.id and "
                           "articles.language = ?)")
            params.append(self.language)
        if self.flagged:
            clauses.append("stories.flagged = 1")
        if self.topic or self.state:
            clauses.append("exists (select 1 from story_topics where story_topics.story_id = stories.id"
                           + " and story_topics.topic = ?" * bool(self.topic)
                           + " and story_topics.state = ?" * bool(self.state) + ")")
            params += [value for value in (self.topic, self.state) if value]
        return " and ".join(clauses) or "1", params

    def _days(self, day: str) -> tuple[list[str], list]:
        clauses, params = [], []
        if self.since:
            clauses.append(f"{day} >= ?")
            params.append(self.since.isoformat())
        if self.until:
            clauses.append(f"{day} <= ?")
            params.append(self.until.isoformat())
        return clauses, params
