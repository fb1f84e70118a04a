"""Articles and stories: storing an article with its dedup keys (URL, exact text, near duplicate),
revisions, and reading articles and stories back."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator

import sqlite_utils

from detectors import Detection
from extractors import Article

from . import _neardup
from ._records import AlertChannel, SavedArticle
from ._sql import in_chunks, now
from ._transaction import immediate_transaction


def text_hash(text: str) -> str:
    """Hash of the text with case and whitespace normalised: the exact-duplicate key."""
    return hashlib.sha256(" ".join(text.casefold().split()).encode()).hexdigest()


class Articles:
    db: sqlite_utils.Database

    def known_urls(self, urls: Iterable[str]) -> set[str]:
        """The given URLs that are already stored, as fetched or as canonical URL."""
        known: set[str] = set()
        for chunk, marks in in_chunks(urls):
            rows = self.db.execute(
                f"select url, canonical_url from articles where url in ({marks}) or canonical_url in ({marks})",
                chunk + chunk,
            ).fetchall()
            known.update(u for row in rows for u in row if u in chunk)
        return known

    def entry_dates(self, urls: Iterable[str]) -> dict[str, str | None]:
        """{URL: the feed date stored with it} for the given URLs that are stored."""
        dates: dict[str, str | None] = {}
        for chunk, marks in in_chunks(urls):
            dates.update(self.db.execute(
                f"select url, entry_updated from articles where url in ({marks})", chunk).fetchall())
        return dates

    def record_entry_dates(self, dates: dict[str, str]) -> None:
        """Remember the feed's date for stored entries, to notice when one changes."""
        with immediate_transaction(self.db.conn):
            self.db.conn.executemany("update articles set entry_updated = ? where url = ?",
                                     [(date, url) for url, date in dates.items()])

    def save_article(
        self,
        article: Article,
        detection: Detection,
        *,
        source: str,
        channels: Iterable[AlertChannel] = (),
    ) -> SavedArticle:
        """Store an article, its story and flags, and enqueue its alerts, in one transaction.

        An article whose canonical URL or exact text is already stored joins that article's story
        as a duplicate and enqueues nothing. A URL already stored with the same text is left as it
        is ("known"); with other text it is a revision ("revised"): the earlier text goes to
        article_revisions, and the story is flagged, and alerts enqueued, only if it was not
        flagged before and now is.
        """
        url = article.url or article.canonical_url
        if not url:
            raise ValueError("an article needs a url or a canonical_url to be stored")
        digest = text_hash(article.text)
        shingle_set = _neardup.shingles(article.text)
        # Too short to compare by content ("a one-line page"): only URL and exact text apply.
        packed = _neardup.signature(shingle_set) if len(shingle_set) >= _neardup.MIN_SHINGLES else None
        with immediate_transaction(self.db.conn):
            existing = self.db.execute("select id, story_id, text_hash from articles where url = ?", [url]).fetchone()
            if existing and existing[2] == digest:
                return SavedArticle(existing[0], existing[1], "known")
            if existing:
                return self._revise(existing[0], existing[1], article, detection, digest, channels, packed)
            original = self.db.execute(
                "select id, story_id from articles where duplicate_of is null and "
                "((canonical_url = ? and ? is not null) or text_hash = ?) order by id limit 1",
                [article.canonical_url, article.canonical_url, digest],
            ).fetchone()
            if not original and packed:
                original = self._near_duplicate(packed, shingle_set)
            if original:
                story_id = original[1]
            else:
                story_id = self.db["stories"].insert({
                    "title": article.title, "first_url": url, "first_seen": now(),
                    "flagged": int(detection.flagged), "score": detection.score, "state": detection.state,
                }).last_pk
            article_id = self.db["articles"].insert({
                "url": url, "canonical_url": article.canonical_url, "title": article.title,
                "text": article.text, "text_hash": digest, "author": article.author,
                "published": article.published, "language": article.language,
                "site_name": article.site_name, "source": source, "story_id": story_id,
                "duplicate_of": original[0] if original else None, "flagged": int(detection.flagged),
                "score": detection.score, "state": detection.state,
                "evidence": json.dumps(detection.evidence, ensure_ascii=False),
                "matched": json.dumps(detection.actors + detection.terms, ensure_ascii=False), "fetched_at": now(),
            }).last_pk
            self.db.execute("delete from fetch_failures where url = ?", [url])
            if packed:
                self._index(article_id, packed)
            if not original:
                self._learn_site_lines(article)
            enqueued = self._enqueue(story_id, article_id, channels) if detection.flagged and not original else 0
        return SavedArticle(
            article_id, story_id, "duplicate" if original else "new",
            duplicate_of=original[0] if original else None, alerts_enqueued=enqueued,
        )

    def _near_duplicate(self, packed: bytes, shingle_set: set[bytes]) -> tuple[int, int] | None:
        """(first copy's id, story id) of a stored article that carries the same story, if any:
        LSH candidates, narrowed by their signatures, confirmed on their text."""
        keys = _neardup.band_keys(packed)
        marks = ",".join("?" * len(keys))
        candidates = self.db.execute(
            f"select minhash.article_id, minhash.signature from minhash where article_id in "
            f"(select distinct article_id from lsh_buckets where bucket in ({marks}))", keys,
        ).fetchall()
        estimates = [(_neardup.estimated_jaccard(packed, sig), article_id) for article_id, sig in candidates]
        likely = sorted((e for e in estimates if e[0] >= _neardup.CANDIDATE_JACCARD), reverse=True)
        for _, article_id in likely:
            text, story_id, first = self.db.execute(
                "select text, story_id, coalesce(duplicate_of, id) from articles where id = ?", [article_id]).fetchone()
            if _neardup.containment(shingle_set, _neardup.shingles(text)) >= _neardup.SAME_STORY_CONTAINMENT:
                return first, story_id
        return None

    def _index(self, article_id: int, packed: bytes) -> None:
        """Put an article's signature and band keys in the near-duplicate index (replacing old ones)."""
        old = self.db.execute("select signature from minhash where article_id = ?", [article_id]).fetchone()
        if old:  # a revision: its old keys, found by the full primary key (no scan of the index)
            self.db.conn.executemany("delete from lsh_buckets where bucket = ? and article_id = ?",
                                     [(key, article_id) for key in _neardup.band_keys(old[0])])
        self.db.execute("insert or replace into minhash (article_id, signature) values (?, ?)", [article_id, packed])
        self.db.conn.executemany("insert or ignore into lsh_buckets (bucket, article_id) values (?, ?)",
                                 [(key, article_id) for key in _neardup.band_keys(packed)])

    def _rebuild_stale_signatures(self) -> None:
        """Signatures made another way (another MinHash library or version, another size) cannot be
        compared with new ones: when the scheme changes, make them again from the stored texts, once."""
        with immediate_transaction(self.db.conn):
            if self.db.execute("select scheme from neardup_scheme").fetchone() == (_neardup.SCHEME,):
                return
            self.db.execute("delete from lsh_buckets")
            self.db.execute("delete from minhash")
            for article_id, text in self.db.execute("select id, text from articles"):
                shingle_set = _neardup.shingles(text)
                if len(shingle_set) >= _neardup.MIN_SHINGLES:
                    self._index(article_id, _neardup.signature(shingle_set))
            self.db.execute("delete from neardup_scheme")
            self.db.execute("insert into neardup_scheme (scheme) values (?)", [_neardup.SCHEME])

    def _revise(self, article_id: int, story_id: int, article: Article, detection: Detection, digest: str,
                channels: Iterable[AlertChannel], packed: bytes | None) -> SavedArticle:
        """Store a changed text of a stored article (inside save_article's transaction)."""
        self.db.execute(
            "insert into article_revisions (article_id, title, text, text_hash, flagged, score, replaced_at) "
            "select id, title, text, text_hash, flagged, score, ? from articles where id = ?", [now(), article_id])
        self.db.execute(
            "update articles set title = ?, text = ?, text_hash = ?, flagged = ?, score = ?, state = ?, "
            "evidence = ?, matched = ?, fetched_at = ? where id = ?",
            [article.title, article.text, digest, int(detection.flagged), detection.score, detection.state,
             json.dumps(detection.evidence, ensure_ascii=False),
             json.dumps(detection.actors + detection.terms, ensure_ascii=False), now(), article_id],
        )
        if packed:
            self._index(article_id, packed)
        (story_flagged,) = self.db.execute("select flagged from stories where id = ?", [story_id]).fetchone()
        enqueued = 0
        if detection.flagged and not story_flagged:
            self.db.execute("update stories set flagged = 1, score = ?, state = ? where id = ?",
                            [detection.score, detection.state, story_id])
            enqueued = self._enqueue(story_id, article_id, channels)
        return SavedArticle(article_id, story_id, "revised", alerts_enqueued=enqueued)

    def stories(self, *, flagged_only: bool = False) -> list[dict]:
        """Each story with the outlets and URLs that carried it, first copy first."""
        where = "where stories.flagged = 1" if flagged_only else ""
        rows = self.db.query(
            "select stories.id, stories.title, stories.first_seen, stories.flagged, stories.state, "
            "json_group_array(coalesce(articles.site_name, articles.source)) as outlets, "
            "json_group_array(articles.url) as urls "
            f"from stories join (select * from articles order by id) articles on articles.story_id = stories.id "
            f"{where} group by stories.id order by stories.id"
        )
        return [{**row, "flagged": bool(row["flagged"]), "outlets": list(dict.fromkeys(json.loads(row["outlets"]))),
                 "urls": json.loads(row["urls"])} for row in rows]

    def articles(self, *, flagged_only: bool = False) -> Iterator[dict]:
        """Stored articles, oldest first, in the shape of `newswatch articles --json`."""
        where = "where flagged = 1" if flagged_only else ""
        for row in self.db.query(
            "select id, url, canonical_url, title, published, source, site_name, story_id, duplicate_of, "
            f"flagged, score, state, evidence, author, language, fetched_at from articles {where} order by id"
        ):
            row["flagged"] = bool(row["flagged"])
            row["evidence"] = json.loads(row["evidence"] or "[]")
            yield row
