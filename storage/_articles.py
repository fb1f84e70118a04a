"""Articles and stories: storing an article with its dedup keys (URL, exact text, near duplicate),
revisions, topics and story states."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence

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


def _best_columns(best: Detection) -> dict:
    """The article row's own detection columns: its best topic's."""
    return {"topic": best.topic if best.evidence else None, "flagged": int(best.flagged), "score": best.score,
            "state": best.state, "evidence": json.dumps(best.evidence, ensure_ascii=False),
            "matched": json.dumps(best.actors + best.terms, ensure_ascii=False)}


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

    def entry_versions(self, urls: Iterable[str]) -> dict[str, tuple[str | None, str | None]]:
        """{URL: (the feed date, the entry's fingerprint) stored with it} for the given URLs that are stored."""
        versions: dict[str, tuple[str | None, str | None]] = {}
        for chunk, marks in in_chunks(urls):
            versions.update((url, (date, fingerprint)) for url, date, fingerprint in self.db.execute(
                f"select url, entry_updated, entry_fingerprint from articles where url in ({marks})", chunk))
        return versions

    def record_entry_versions(self, dates: dict[str, str], fingerprints: dict[str, str] | None = None) -> None:
        """Remember the feed's date and fingerprint of stored entries, to notice when one changes."""
        with immediate_transaction(self.db.conn):
            self.db.conn.executemany("update articles set entry_updated = ? where url = ?",
                                     [(date, url) for url, date in dates.items()])
            self.db.conn.executemany("update articles set entry_fingerprint = ? where url = ?",
                                     [(fingerprint, url) for url, fingerprint in (fingerprints or {}).items()])

    def save_article(
        self,
        article: Article,
        detections: Detection | Sequence[Detection],
        *,
        source: str,
        channels: Iterable[AlertChannel] = (),
    ) -> SavedArticle:
        """Store an article, its story and every topic it reports, track its story's state and
        enqueue alerts, in one transaction. ``detections``: one per topic (``detectors.detect_each``),
        or the one that matters.

        An article whose canonical URL or exact text is already stored joins that article's story
        as a duplicate. A URL already stored with the same text is left as it is ("known"); with
        other text it is a revision ("revised"): the earlier text goes to article_revisions. Whatever
        its status, a flagged topic either flags its story for the first time (an alert to every
        channel), changes the story's state (an alert to the channels that follow states), or
        changes nothing: a new outlet of a story is never an alert of its own.
        """
        url = article.url or article.canonical_url
        if not url:
            raise ValueError("an article needs a url or a canonical_url to be stored")
        detections = sorted([detections] if isinstance(detections, Detection) else detections, key=lambda d: -d.score)
        best = detections[0]
        digest = text_hash(article.text)
        shingle_set = _neardup.shingles(article.text)
        # Too short to compare by content ("a one-line page"): only URL and exact text apply.
        packed = _neardup.signature(shingle_set) if len(shingle_set) >= _neardup.MIN_SHINGLES else None
        with immediate_transaction(self.db.conn):
            existing = self.db.execute("select id, story_id, text_hash from articles where url = ?", [url]).fetchone()
            if existing and existing[2] == digest:
                return SavedArticle(existing[0], existing[1], "known")
            if existing:
                article_id, story_id = existing[0], existing[1]
                self._revise(article_id, article, best, digest, packed)
                status, original = "revised", None
            else:
                original = self.db.execute(
                    "select id, story_id from articles where duplicate_of is null and "
                    "((canonical_url = ? and ? is not null) or text_hash = ?) order by id limit 1",
                    [article.canonical_url, article.canonical_url, digest],
                ).fetchone()
                if not original and packed:
                    original = self._near_duplicate(packed, shingle_set)
                story_id = original[1] if original else self.db["stories"].insert({
                    "title": article.title, "first_url": url, "first_seen": now(), "flagged": 0,
                    "score": best.score, "state": best.state,
                }).last_pk
                article_id = self.db["articles"].insert({
                    "url": url, "canonical_url": article.canonical_url, "title": article.title,
                    "text": article.text, "text_hash": digest, "author": article.author,
                    "published": article.published, "language": article.language,
                    "site_name": article.site_name, "source": source, "story_id": story_id,
                    "duplicate_of": original[0] if original else None, **_best_columns(best), "fetched_at": now(),
                }).last_pk
                self.db.execute("delete from fetch_failures where url = ?", [url])
                if packed:
                    self._index(article_id, packed)
                if not original:
                    self._learn_site_lines(article)
                status = "duplicate" if original else "new"
            self._record_topics(article_id, detections)
            enqueued = self.track_story_states(story_id, article_id, article.published, detections, channels)
        return SavedArticle(article_id, story_id, status, duplicate_of=original[0] if original else None,
                            alerts_enqueued=enqueued)

    def _record_topics(self, article_id: int, detections: Sequence[Detection]) -> None:
        """Replace what an article reports of the topics of ``detections`` (and of no topic, as
        stored before topics were) with what they found evidence of."""
        topic_ids = [d.topic for d in detections] + [""]
        marks = ",".join("?" * len(topic_ids))
        self.db.execute(f"delete from article_topics where article_id = ? and topic in ({marks})",
                        [article_id, *topic_ids])
        for d in (d for d in detections if d.evidence):  # most articles: none, and nothing written
            if d.label:
                self.db.execute("insert into topics (id, label) values (?, ?) on conflict (id) do update "
                                "set label = excluded.label", [d.topic, d.label])
            self.db.execute(
                "insert into article_topics (article_id, topic, flagged, score, state, state_sentence, evidence, "
                "matched) values (?, ?, ?, ?, ?, ?, ?, ?)",
                [article_id, d.topic, int(d.flagged), d.score, d.state, d.state_sentence,
                 json.dumps(d.evidence, ensure_ascii=False), json.dumps(d.actors + d.terms, ensure_ascii=False)])

    def article_ids(self, *, since: str | None = None) -> list[int]:
        """The stored articles published (or, undated, fetched) on or after ``since``; all without it."""
        return [row[0] for row in self.db.execute(
            "select id from articles where ? is null or coalesce(published, fetched_at) >= ? order by id",
            [since, since])]

    def redetect(self, article_ids: list[int], detect: Callable[[str | None, str, str | None], list[Detection]],
                 channels: Iterable[AlertChannel] = ()) -> None:
        """Detect these stored articles again with ``detect(title, text, language)``, in one
        transaction (the language as stored: identified when the article was extracted): their
        topics replaced, their own columns made their best topic's, their stories' states moved. Only
        a story a topic now flags for the first time is alerted (to ``channels``); a state change is
        recorded, not alerted: it is old news. A story is never unflagged, nor an alert taken back."""
        channels = list(channels)
        with immediate_transaction(self.db.conn):
            rows = self.db.execute(f"select id, story_id, published, title, text, language from articles "
                                   f"where id in ({','.join('?' * len(article_ids))})", article_ids).fetchall()
            for article_id, story_id, published, title, text, language in rows:
                detections = detect(title, text, language)
                self._record_topics(article_id, detections)
                best = self.db.execute(
                    "select topic, flagged, score, state, evidence, matched from article_topics "
                    "where article_id = ? order by score desc, topic limit 1", [article_id]).fetchone()
                columns = dict(zip(("topic", "flagged", "score", "state", "evidence", "matched"),
                                   best or (None, 0, 0.0, None, "[]", "[]"), strict=True))
                self.db.execute(f"update articles set {', '.join(f'{c} = ?' for c in columns)} where id = ?",
                                [*columns.values(), article_id])
                self.track_story_states(story_id, article_id, published, detections, channels, alert_changes=False)

    def state_counts(self) -> dict[str, int]:
        """How many story topics, state changes and alerts the store holds (what a reclassification added)."""
        return {table: self.db.execute(f"select count(*) from {table}").fetchone()[0]
                for table in ("story_topics", "story_states", "alerts")}

    def track_story_states(self, story_id: int, article_id: int, published: str | None,
                           detections: Sequence[Detection], channels: Iterable[AlertChannel], *,
                           alert_changes: bool = True) -> int:
        """Move the story's state per flagged topic, as this article reports it, and enqueue the
        alerts of each change; returns how many. A topic that first flags the story is alerted to
        every channel; a change of its state (``alert_changes``) to those that follow states. An
        article published before the one that set the story's state reports older news: it changes
        nothing. Call inside a transaction."""
        channels = list(channels)
        enqueued = 0
        for d in (d for d in detections if d.flagged):
            current = self._story_topic(story_id, d.topic)
            if current and (current[0] == d.state or (published and current[1] and published < current[1])):
                continue
            sentence = d.state_sentence or (d.evidence[0] if d.evidence else None)
            change_id = self.db["story_states"].insert({
                "story_id": story_id, "topic": d.topic, "state": d.state,
                "previous_state": current[0] if current else None, "article_id": article_id,
                "sentence": sentence, "changed_at": now()}).last_pk
            self.db.execute(
                "insert into story_topics (story_id, topic, state, score, state_published, first_flagged, changed_at) "
                "values (?, ?, ?, ?, ?, ?, ?) on conflict (story_id, topic) do update set state = excluded.state, "
                "score = max(score, excluded.score), state_published = excluded.state_published, "
                "changed_at = excluded.changed_at",
                [story_id, d.topic, d.state, d.score, published, now(), now()])
            self.db.execute("update stories set flagged = 1, state = ?, score = max(coalesce(score, 0), ?) "
                            "where id = ?", [d.state, d.score, story_id])
            to = channels if not current else [c for c in channels if c.follows_states] if alert_changes else []
            enqueued += self._enqueue(story_id, article_id, d.topic, change_id, to)
        return enqueued

    def _story_topic(self, story_id: int, topic: str) -> tuple[str | None, str | None] | None:
        """(state, published date of the article that set it) of a story's topic; None when the topic
        never flagged it. A story flagged before topics were stored (topic '') is claimed by the first
        topic that flags it again: it was alerted then, as that topic's most likely."""
        row = self.db.execute("select state, state_published from story_topics where story_id = ? and topic = ?",
                              [story_id, topic]).fetchone()
        if row or not self.db.execute("select 1 from story_topics where story_id = ? and topic = ''",
                                      [story_id]).fetchone():
            return row
        for table in ("story_topics", "story_states", "alerts"):
            self.db.execute(f"update {table} set topic = ? where story_id = ? and topic = ''", [topic, story_id])
        return self._story_topic(story_id, topic)

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

    def _revise(self, article_id: int, article: Article, best: Detection, digest: str, packed: bytes | None) -> None:
        """Store a changed text of a stored article, the earlier one kept (inside save_article's transaction)."""
        self.db.execute(
            "insert into article_revisions (article_id, title, text, text_hash, flagged, score, replaced_at) "
            "select id, title, text, text_hash, flagged, score, ? from articles where id = ?", [now(), article_id])
        columns = {"title": article.title, "text": article.text, "text_hash": digest, **_best_columns(best),
                   "fetched_at": now()}
        self.db.execute(f"update articles set {', '.join(f'{c} = ?' for c in columns)} where id = ?",
                        [*columns.values(), article_id])
        if packed:
            self._index(article_id, packed)
