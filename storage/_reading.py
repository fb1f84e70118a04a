"""Reading articles and stories back: listings and full-text search, narrowed by Filters."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator

import sqlite_utils

from ._filters import ARTICLE_DAY, Filters
from ._sql import in_chunks

ARTICLE_COLUMNS = ("articles.id, articles.url, articles.canonical_url, articles.title, articles.published, "
                   "articles.source, articles.site_name, articles.story_id, articles.duplicate_of, articles.topic, "
                   "articles.flagged, articles.score, articles.state, articles.evidence, articles.author, "
                   "articles.language, articles.fetched_at")
STORED_VALUE_COLUMNS = {"articles.source", "articles.language", "article_topics.topic", "article_topics.state"}
# Search ranks at most this many matches, the most recent (Reading.search).
RANKED_MATCHES = 5000
# Headline matches weigh more than body matches in the ranking (bm25's column weights).
TITLE_WEIGHT, TEXT_WEIGHT = 5.0, 1.0


# Persian text is typed with Persian yeh and kaf (ی ک) or, on an Arabic keyboard, with Arabic's (ي ك),
# and the index keeps words as written: a query is also run in each spelling.
_TO_ARABIC_LETTERS = str.maketrans("\u06cc\u06a9", "\u064a\u0643")
_TO_PERSIAN_LETTERS = str.maketrans("\u064a\u0643", "\u06cc\u06a9")


def _either_spelling(query: str) -> str:
    """``query``, or, when it holds yeh or kaf, each of its spellings joined by OR."""
    spellings = dict.fromkeys([query, query.translate(_TO_ARABIC_LETTERS), query.translate(_TO_PERSIAN_LETTERS)])
    return query if len(spellings) == 1 else " OR ".join(f"({spelling})" for spelling in spellings)


class SearchResults(list):
    """Search's rows, best first; ``ranked``: how many matches were ranked, when more matched (else None)."""

    def __init__(self, rows: list[dict], ranked: int | None):
        super().__init__(rows)
        self.ranked = ranked


class SearchError(ValueError):
    """A search query FTS5 cannot read: the message says where, and how to quote."""


class Reading:
    db: sqlite_utils.Database

    def articles(self, filters: Filters | None = None, *, limit: int | None = None,
                 text: bool = False) -> Iterator[dict]:
        """Stored articles, oldest first, in the shape of `newswatch articles --json`: the best topic's
        columns, and ``topics``, every topic the article reports (flagged or not); with ``limit``, the
        most recent ones; with ``text``, their text."""
        where, params = (filters or Filters()).articles()
        columns = ARTICLE_COLUMNS + ", articles.text" * text
        rows = self._oldest_first(f"select {columns} from articles where {where}", params, limit)
        yield from self._article_rows(rows)

    def search(self, query: str, filters: Filters | None = None, *, limit: int | None = 20,
               marks: tuple[str, str] = ("**", "**")) -> SearchResults:
        """Articles matching ``query`` (FTS5's syntax: words, "phrases", AND/OR/NOT, prefix*), best
        first, each with ``snippet``, the passage of its text that matched (its lede when only the
        headline did), the matched words between ``marks``, and ``relevance`` (bm25, higher is
        better). Of more than RANKED_MATCHES matches, the most recent that many are ranked
        (``ranked`` says so). SearchError when the query cannot be read."""
        where, params = (filters or Filters()).articles()
        # Ranking costs a few microseconds a match: a word most articles hold would take a tenth of a
        # second on a store of 100,000. The window ranks the latest matches (FTS5 walks them newest
        # first) and computes the passages of the results alone.
        window = (f"select articles_fts.rowid as id, bm25(articles_fts, {TITLE_WEIGHT}, {TEXT_WEIGHT}) as score "
                  f"from articles_fts join articles on articles.id = articles_fts.rowid "
                  f"where articles_fts match ? and {where} order by articles_fts.rowid desc limit {RANKED_MATCHES}")
        sql = (f"with latest as materialized ({window}), ranked as (select id, score from latest order by score "
               f"limit ?) select {ARTICLE_COLUMNS}, snippet(articles_fts, 1, ?, ?, '…', 24) as snippet, "
               f"-ranked.score as relevance, (select count(*) from latest) as matches from ranked join articles_fts on "
               f"articles_fts.rowid = ranked.id join articles on articles.id = ranked.id "
               f"where articles_fts match ? order by ranked.score")
        try:
            spelt = _either_spelling(query)
            rows = list(self.db.query(sql, [spelt, *params, -1 if limit is None else limit, *marks, spelt]))
        except sqlite3.OperationalError as exc:
            message = str(exc)
            if not message.startswith(("fts5:", "no such column", "unknown special query", "unterminated")):
                raise
            raise SearchError(f"cannot read the search {query!r}: {message.removeprefix('fts5: ')}. Put words "
                              f"with punctuation in double quotes (\"U.S.-Iran\"); AND, OR, NOT are upper case"
                              ) from None
        ranked = RANKED_MATCHES if rows and rows[0]["matches"] >= RANKED_MATCHES else None
        for row in rows:
            del row["matches"]
        return SearchResults(list(self._article_rows(rows)), ranked)

    def stories(self, filters: Filters | None = None, *, limit: int | None = None) -> list[dict]:
        """Each story, oldest first (with ``limit``, the most recent), with its day (its first
        article's), the outlets and URLs that carried it (first copy first; ``carried_by``: each
        outlet with the URL of its first copy), and each topic that
        flagged it: its state and the history of that state, oldest change first."""
        where, params = (filters or Filters()).stories()
        rows = self._oldest_first(
            f"select stories.id, stories.title, (select min({ARTICLE_DAY}) from articles where "
            f"articles.story_id = stories.id) as day, stories.first_seen, stories.flagged, stories.state, "
            f"json_group_array(coalesce(articles.site_name, articles.source)) as outlets, "
            f"json_group_array(articles.url) as urls "
            f"from stories join (select * from articles order by id) articles on articles.story_id = stories.id "
            f"where {where} group by stories.id", params, limit, table="stories")
        topics: dict[int, dict[str, dict]] = {}
        for chunk, marks in in_chunks([row["id"] for row in rows]):
            for change in self.db.query(
                    "select story_states.story_id, story_states.topic, topics.label, story_states.id as change_id, "
                    "story_states.state, "
                    "story_states.previous_state, story_states.article_id, articles.url, articles.source, "
                    "coalesce(articles.published, articles.fetched_at) as published, story_states.sentence, "
                    "story_states.changed_at from story_states join articles on articles.id = story_states.article_id "
                    f"left join topics on topics.id = story_states.topic where story_states.story_id in ({marks}) "
                    "order by story_states.id", chunk):
                story_id, topic, label = change.pop("story_id"), change.pop("topic"), change.pop("label")
                entry = topics.setdefault(story_id, {}).setdefault(topic, {"topic": topic, "label": label,
                                                                          "history": []})
                entry["state"] = change["state"]
                entry["history"].append(change)
        for row in rows:
            outlets, urls = json.loads(row["outlets"]), json.loads(row["urls"])
            first_copies = dict(reversed(list(zip(outlets, urls, strict=True))))
            row.update(flagged=bool(row["flagged"]), outlets=list(dict.fromkeys(outlets)), urls=urls,
                       carried_by=[{"outlet": o, "url": first_copies[o]} for o in dict.fromkeys(outlets)],
                       topics=list(topics.get(row["id"], {}).values()))
        return rows

    def topic_labels(self) -> dict[str, str]:
        """{topic id: label} of every topic the store has evidence of."""
        return {row[0]: row[1] or row[0] for row in self.db.execute("select id, label from topics")}

    def stored_values(self, column: str) -> set[str]:
        """The distinct values of ``column`` ("articles.source", "article_topics.state"...): what a
        filter can name."""
        table, name = column.split(".")
        if column not in STORED_VALUE_COLUMNS:
            raise ValueError(f"not a column filters name: {column}")
        return {row[0] for row in self.db.execute(f"select distinct {name} from {table} where {name} is not null")}

    def _oldest_first(self, sql: str, params: list, limit: int | None, *, table: str = "articles") -> list[dict]:
        """The rows of ``sql`` by id; with ``limit``, the last ``limit`` of them (still oldest first)."""
        if limit is None:
            return list(self.db.query(f"{sql} order by {table}.id", params))
        return list(reversed(list(self.db.query(f"{sql} order by {table}.id desc limit ?", [*params, limit]))))

    def _article_rows(self, rows: list[dict]) -> Iterator[dict]:
        """Rows of articles with their JSON decoded and every topic each reports (best first)."""
        found: dict[int, list[dict]] = {}
        for chunk, marks in in_chunks([row["id"] for row in rows]):
            for row in self.db.query("select article_id, topic, flagged, score, state from article_topics "
                                     f"where article_id in ({marks}) order by article_id, score desc", chunk):
                found.setdefault(row.pop("article_id"), []).append({**row, "flagged": bool(row["flagged"])})
        for row in rows:
            row["flagged"] = bool(row["flagged"])
            row["evidence"] = json.loads(row["evidence"] or "[]")
            row["topics"] = found.get(row["id"], [])
            yield row
