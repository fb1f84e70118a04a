from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlite_utils

from detectors import Detection
from extractors import MEMORY_PAGES, Article, SiteMemory, min_pages, page_fingerprints, site_of

from . import _neardup
from ._records import AlertChannel, PendingAlert, SavedArticle
from ._schema import migrate, require_current, require_store
from ._transaction import immediate_transaction

# A failed page is retried on later runs until it has failed this many times.
DEFAULT_MAX_ATTEMPTS = 5
# A failed alert waits 1, 2, 4... minutes (at most 6 hours) before its next try, up to 8 tries.
ALERT_MAX_ATTEMPTS = 8
ALERT_FIRST_BACKOFF = timedelta(minutes=1)
ALERT_MAX_BACKOFF = timedelta(hours=6)


def _now(later: timedelta = timedelta(0)) -> str:
    return (datetime.now(UTC) + later).isoformat(timespec="seconds")


def _in_chunks(urls: Iterable[str], size: int = 400) -> Iterator[tuple[list[str], str]]:
    """Distinct URLs in chunks small enough for one "in (?, ?, ...)" clause, with its placeholders."""
    distinct = list(dict.fromkeys(urls))
    for start in range(0, len(distinct), size):
        chunk = distinct[start:start + size]
        yield chunk, ",".join("?" * len(chunk))


def text_hash(text: str) -> str:
    """Hash of the text with case and whitespace normalised: the exact-duplicate key."""
    return hashlib.sha256(" ".join(text.casefold().split()).encode()).hexdigest()


def _urls_hash(urls: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(urls).encode()).hexdigest()


class Store:
    """One SQLite file. Open one Store per thread; writes take the write lock up front."""

    def __init__(self, path: str | Path, *, read_only: bool = False):
        """Open (creating and migrating) the store at ``path``; with ``read_only``, open an existing
        store of the current schema for reading, changing nothing. ValueError when the file is not a
        store: not SQLite, another program's database, a newer newswatch's store, or (read only) an
        older one."""
        self.path = Path(path)
        if read_only:
            self.db = sqlite_utils.Database(sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True))
            try:
                require_current(self.db, self.path)
            except (ValueError, sqlite3.DatabaseError):
                self.db.close()
                raise
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite_utils.Database(self.path)
        try:
            require_store(self.db, self.path)  # before WAL mode and the tables change the file
        except ValueError:
            self.db.close()
            raise
        self.db.execute("PRAGMA busy_timeout = 30000")
        self.db.enable_wal()
        migrate(self.db)
        self._rebuild_stale_signatures()

    def close(self) -> None:
        self.db.close()

    def batch(self):
        """One transaction (one commit, one fsync) for many writes: what a backfill chunk stores.
        Each write inside keeps its own all-or-nothing savepoint."""
        return immediate_transaction(self.db.conn)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- articles -------------------------------------------------------------------------------

    def known_urls(self, urls: Iterable[str]) -> set[str]:
        """The given URLs that are already stored, as fetched or as canonical URL."""
        known: set[str] = set()
        for chunk, marks in _in_chunks(urls):
            rows = self.db.execute(
                f"select url, canonical_url from articles where url in ({marks}) or canonical_url in ({marks})",
                chunk + chunk,
            ).fetchall()
            known.update(u for row in rows for u in row if u in chunk)
        return known

    def entry_dates(self, urls: Iterable[str]) -> dict[str, str | None]:
        """{URL: the feed date stored with it} for the given URLs that are stored."""
        dates: dict[str, str | None] = {}
        for chunk, marks in _in_chunks(urls):
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
                    "title": article.title, "first_url": url, "first_seen": _now(),
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
                "matched": json.dumps(detection.actors + detection.terms, ensure_ascii=False), "fetched_at": _now(),
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

    def _learn_site_lines(self, article: Article) -> None:
        """Count a new story's lines for its site's memory; halve the site's counts when they reach
        2 × ``MEMORY_PAGES`` stories. Copies of a story and revisions are not counted: the lines a story
        shares with its copies are not the site's chrome."""
        host = site_of(article.url or article.canonical_url)
        if host is None:
            return
        self.db.execute("insert into sites (host, pages) values (?, 1) "
                        "on conflict (host) do update set pages = pages + 1", [host])
        self.db.conn.executemany("insert into site_lines (host, fingerprint, pages) values (?, ?, 1) "
                                 "on conflict (host, fingerprint) do update set pages = pages + 1",
                                 [(host, fingerprint) for fingerprint in page_fingerprints(article)])
        (pages,) = self.db.execute("select pages from sites where host = ?", [host]).fetchone()
        if pages >= 2 * MEMORY_PAGES:
            self.db.execute("update sites set pages = pages / 2 where host = ?", [host])
            self.db.execute("update site_lines set pages = pages / 2 where host = ?", [host])
            self.db.execute("delete from site_lines where host = ? and pages = 0", [host])

    def site_memories(self, urls: Iterable[str] | None = None) -> dict[str, SiteMemory]:
        """What was learnt of the sites of these URLs (default: of every site), by host; a site with no
        repeated line yet is left out."""
        wanted = None if urls is None else {site_of(url) for url in urls} - {None}
        if wanted == set():
            return {}  # nothing to fetch: a routine tick asks for every source
        memories = {}
        for host, pages in self.db.execute("select host, pages from sites").fetchall():
            if wanted is not None and host not in wanted:
                continue
            chrome = frozenset(f for (f,) in self.db.execute(
                "select fingerprint from site_lines where host = ? and pages >= ?", [host, min_pages(pages)]))
            if chrome:
                memories[host] = SiteMemory(pages, chrome)
        return memories

    def _revise(self, article_id: int, story_id: int, article: Article, detection: Detection, digest: str,
                channels: Iterable[AlertChannel], packed: bytes | None) -> SavedArticle:
        """Store a changed text of a stored article (inside save_article's transaction)."""
        self.db.execute(
            "insert into article_revisions (article_id, title, text, text_hash, flagged, score, replaced_at) "
            "select id, title, text, text_hash, flagged, score, ? from articles where id = ?", [_now(), article_id])
        self.db.execute(
            "update articles set title = ?, text = ?, text_hash = ?, flagged = ?, score = ?, state = ?, "
            "evidence = ?, matched = ?, fetched_at = ? where id = ?",
            [article.title, article.text, digest, int(detection.flagged), detection.score, detection.state,
             json.dumps(detection.evidence, ensure_ascii=False),
             json.dumps(detection.actors + detection.terms, ensure_ascii=False), _now(), article_id],
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

    def _enqueue(self, story_id: int, article_id: int, channels: Iterable[AlertChannel]) -> int:
        enqueued = 0
        for channel in channels:
            enqueued += self.db.execute(
                "insert or ignore into alerts (story_id, article_id, channel, channel_label, "
                "status, attempts, created_at) values (?, ?, ?, ?, 'pending', 0, ?)",
                [story_id, article_id, channel.key, channel.label, _now()],
            ).rowcount
        return enqueued

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

    # -- fetch failures -------------------------------------------------------------------------

    def record_failure(self, url: str, *, source: str, reason: str, kind: str = "page") -> None:
        """Record that a page (or a source's feed, ``kind="feed"``) failed, and why."""
        with immediate_transaction(self.db.conn):
            self.db.execute(
                "insert into fetch_failures (url, source, kind, reason, attempts, first_failed_at, last_failed_at) "
                "values (?, ?, ?, ?, 1, ?, ?) on conflict(url) do update set reason = excluded.reason, "
                "attempts = attempts + 1, last_failed_at = excluded.last_failed_at",
                [url, source, kind, reason, _now(), _now()],
            )

    def clear_failure(self, url: str) -> None:
        with immediate_transaction(self.db.conn):
            self.db.execute("delete from fetch_failures where url = ?", [url])

    def failures(self, *, source: str | None = None) -> list[dict]:
        where, params = ("where source = ?", [source]) if source else ("", [])
        return list(self.db.query(f"select * from fetch_failures {where} order by url", params))

    def urls_to_retry(self, source: str, *, max_attempts: int = DEFAULT_MAX_ATTEMPTS) -> list[str]:
        """Pages of this source that failed before and have not yet used up their attempts."""
        return [
            row["url"]
            for row in self.db.query(
                "select url from fetch_failures where source = ? and kind = 'page' and attempts < ? order by url",
                [source, max_attempts],
            )
        ]

    # -- conditional GET ------------------------------------------------------------------------

    def validators(self, source: str) -> dict[str, tuple[str | None, str | None]]:
        """{URL: (ETag, Last-Modified)} of this source's feeds and sitemaps, as last saved."""
        return {row["url"]: (row["etag"], row["last_modified"])
                for row in self.db.query("select * from http_cache where source = ?", [source])}

    def save_validators(self, source: str, validators: dict[str, tuple[str | None, str | None]]) -> None:
        with immediate_transaction(self.db.conn):
            for url, (etag, last_modified) in validators.items():
                self.db.execute(
                    "insert or replace into http_cache (url, source, etag, last_modified, saved_at) "
                    "values (?, ?, ?, ?, ?)", [url, source, etag, last_modified, _now()],
                )

    # -- backfill checkpoints -------------------------------------------------------------------

    def chunk_done(self, backfill: str, source: str, chunk: int, urls: Iterable[str]) -> bool:
        """Whether this chunk of this backfill and source was finished before, with these same URLs."""
        row = self.db.execute("select urls_hash from backfill_checkpoints where backfill = ? and source = ? "
                              "and chunk = ?", [backfill, source, chunk]).fetchone()
        return row is not None and row[0] == _urls_hash(urls)

    def finish_chunk(self, backfill: str, source: str, chunk: int, *, urls: Iterable[str], stored: int,
                     failed: int) -> None:
        """Record a chunk as done (its URLs' hash tells a later run whether it is still the same chunk)."""
        urls = list(urls)
        with immediate_transaction(self.db.conn):
            self.db["backfill_checkpoints"].insert({
                "backfill": backfill, "source": source, "chunk": chunk, "urls_hash": _urls_hash(urls),
                "pages": len(urls), "stored": stored, "failed": failed, "done_at": _now(),
            }, replace=True)

    # -- source health --------------------------------------------------------------------------

    def record_source_run(self, source: str, *, error: str | None, dark_after: int) -> str | None:
        """Record whether a source worked this run. Returns "dark" when it has now failed
        ``dark_after`` runs in a row and nobody was told yet, "recovered" when it works again after
        that, else None. Call ``source_notified`` once the news is out."""
        with immediate_transaction(self.db.conn):
            row = self.db.execute(
                "select consecutive_failures, dark_since, dark_notified from source_health where source = ?", [source]
            ).fetchone() or (0, None, 0)
            failures, dark_since, notified = row
            if error is None:
                self.db.execute(
                    "insert into source_health (source, last_success, consecutive_failures, dark_notified) "
                    "values (?, ?, 0, ?) on conflict(source) do update set last_success = excluded.last_success, "
                    "consecutive_failures = 0, dark_since = null, last_error = null, "
                    "dark_notified = excluded.dark_notified",
                    [source, _now(), notified],
                )
                return "recovered" if notified else None
            failures += 1
            dark_since = dark_since or _now()
            self.db.execute(
                "insert into source_health (source, last_failure, consecutive_failures, last_error, dark_since, "
                "dark_notified) values (?, ?, ?, ?, ?, ?) on conflict(source) do update set "
                "last_failure = excluded.last_failure, consecutive_failures = excluded.consecutive_failures, "
                "last_error = excluded.last_error, dark_since = excluded.dark_since",
                [source, _now(), failures, error, dark_since, notified],
            )
            return "dark" if failures >= dark_after and not notified else None

    def source_notified(self, source: str, *, dark: bool) -> None:
        """The dark (or recovered) notice for this source went out."""
        with immediate_transaction(self.db.conn):
            self.db.execute("update source_health set dark_notified = ? where source = ?", [int(dark), source])

    def source_health(self, source: str | None = None) -> list[dict]:
        """The health of every source, or of one."""
        where, params = ("where source = ?", [source]) if source else ("", [])
        return list(self.db.query(f"select * from source_health {where} order by source", params))

    # -- alert outbox ---------------------------------------------------------------------------

    def pending_alerts(self, channel_keys: Iterable[str]) -> list[PendingAlert]:
        """Alerts of these channels that are due: never tried, or failed and past their backoff."""
        keys = list(channel_keys)
        if not keys:
            return []
        marks = ",".join("?" * len(keys))
        rows = self.db.query(
            "select alerts.id as alert_id, alerts.channel, alerts.story_id, alerts.attempts, "
            "articles.title, articles.url, coalesce(articles.site_name, articles.source) as outlet, "
            "articles.published, articles.state, articles.score, articles.evidence, articles.matched, "
            "(select json_group_array(distinct coalesce(other.site_name, other.source)) from articles other "
            " where other.story_id = alerts.story_id and other.id != articles.id "
            " and coalesce(other.site_name, other.source) != coalesce(articles.site_name, articles.source)"
            ") as also_reported_by "
            "from alerts join articles on articles.id = alerts.article_id "
            f"where alerts.status in ('pending', 'failed') and alerts.channel in ({marks}) "
            "and (alerts.next_attempt_at is null or alerts.next_attempt_at <= ?) order by alerts.id",
            [*keys, _now()],
        )
        return [
            PendingAlert(**{**row, **{key: json.loads(row[key] or "[]")
                                      for key in ("evidence", "matched", "also_reported_by")}})
            for row in rows
        ]

    def mark_alert_sent(self, alert_id: int) -> None:
        with immediate_transaction(self.db.conn):
            self.db.execute(
                "update alerts set status = 'sent', attempts = attempts + 1, sent_at = ?, last_error = null "
                "where id = ?",
                [_now(), alert_id],
            )

    def mark_alert_failed(self, alert_id: int, error: str, *, max_attempts: int = ALERT_MAX_ATTEMPTS) -> str:
        """Record a failed delivery; schedule the next try, or give up after ``max_attempts``.
        Returns the new status: "failed" (to be retried) or "gave up"."""
        with immediate_transaction(self.db.conn):
            (attempts,) = self.db.execute("select attempts + 1 from alerts where id = ?", [alert_id]).fetchone()
            status = "gave up" if attempts >= max_attempts else "failed"
            backoff = min(ALERT_FIRST_BACKOFF * 2 ** (attempts - 1), ALERT_MAX_BACKOFF)
            self.db.execute(
                "update alerts set status = ?, attempts = ?, last_error = ?, next_attempt_at = ? where id = ?",
                [status, attempts, error, _now(backoff), alert_id],
            )
        return status

    def alerts_sent_since(self, channel_key: str, since: timedelta) -> int:
        """How many alerts this channel was sent in the last ``since``."""
        (count,) = self.db.execute(
            "select count(*) from alerts where channel = ? and status = 'sent' and sent_at >= ?",
            [channel_key, _now(-since)],
        ).fetchone()
        return count

    def retry_alerts(self, alert_ids: Iterable[int] = ()) -> int:
        """Make failed and given-up alerts (all, or these) due now. Returns how many."""
        ids = list(alert_ids)
        where = f"and id in ({','.join('?' * len(ids))})" if ids else ""
        with immediate_transaction(self.db.conn):
            return self.db.execute(
                f"update alerts set status = 'failed', next_attempt_at = null "
                f"where status in ('failed', 'gave up') {where}", ids,
            ).rowcount

    def alerts(self) -> list[dict]:
        return list(self.db.query(
            "select alerts.id, alerts.story_id, articles.title, alerts.channel_label, alerts.status, alerts.attempts, "
            "alerts.last_error, alerts.next_attempt_at, alerts.created_at, alerts.sent_at "
            "from alerts join articles on articles.id = alerts.article_id order by alerts.id"
        ))
