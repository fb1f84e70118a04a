"""Schema migrations, applied in order; the store's schema changes only by appending one here."""

from __future__ import annotations

import sqlite3
from datetime import datetime, UTC

import sqlite_utils

from ._transaction import immediate_transaction


def _initial(db: sqlite_utils.Database) -> None:
    db["stories"].create(
        {"id": int, "title": str, "first_url": str, "first_seen": str, "flagged": int,
         "score": float, "state": str},
        pk="id", not_null={"first_url", "first_seen", "flagged"}, defaults={"flagged": 0},
    )
    db["articles"].create(
        {"id": int, "url": str, "canonical_url": str, "title": str, "text": str, "text_hash": str,
         "author": str, "published": str, "language": str, "site_name": str, "source": str,
         "story_id": int, "duplicate_of": int, "flagged": int, "score": float, "state": str,
         "evidence": str, "fetched_at": str},
        pk="id", not_null={"url", "text", "text_hash", "source", "story_id", "flagged", "fetched_at"},
        foreign_keys=[("story_id", "stories", "id"), ("duplicate_of", "articles", "id")],
    )
    db["articles"].create_index(["url"], unique=True)
    db["articles"].create_index(["canonical_url"])
    db["articles"].create_index(["text_hash"])
    db["articles"].create_index(["story_id"])
    db["fetch_failures"].create(
        {"url": str, "source": str, "kind": str, "reason": str, "attempts": int,
         "first_failed_at": str, "last_failed_at": str},
        pk="url", not_null={"source", "kind", "reason", "attempts"},
    )
    db["alerts"].create(
        {"id": int, "story_id": int, "article_id": int, "channel": str, "channel_label": str,
         "status": str, "attempts": int, "last_error": str, "created_at": str, "sent_at": str},
        pk="id", not_null={"story_id", "article_id", "channel", "status", "attempts", "created_at"},
        foreign_keys=[("story_id", "stories", "id"), ("article_id", "articles", "id")],
        defaults={"status": "pending", "attempts": 0},
    )
    # One alert per story and channel, whatever reruns or overlapping runs do.
    db["alerts"].create_index(["story_id", "channel"], unique=True)
    db["alerts"].create_index(["status"])


def _matched_words(db: sqlite_utils.Database) -> None:
    # The actors and terms that made the evidence, so that alerts can mark them.
    db["articles"].add_column("matched", str)


def _alert_retry_time(db: sqlite_utils.Database) -> None:
    # A failed alert is tried again only once its backoff has passed.
    db["alerts"].add_column("next_attempt_at", str)


def _source_health(db: sqlite_utils.Database) -> None:
    db["source_health"].create(
        {"source": str, "last_success": str, "last_failure": str, "consecutive_failures": int,
         "last_error": str, "dark_since": str, "dark_notified": int},
        pk="source", not_null={"consecutive_failures", "dark_notified"},
        defaults={"consecutive_failures": 0, "dark_notified": 0},
    )


def _http_cache(db: sqlite_utils.Database) -> None:
    # ETag and Last-Modified of each feed and sitemap, for conditional GETs.
    db["http_cache"].create(
        {"url": str, "source": str, "etag": str, "last_modified": str, "saved_at": str},
        pk="url", not_null={"source", "saved_at"},
    )
    db["http_cache"].create_index(["source"])


def _revisions(db: sqlite_utils.Database) -> None:
    # The date the feed gave an entry: when it changes, the page is fetched again as a possible update.
    db["articles"].add_column("entry_updated", str)
    # Earlier texts of an article whose page changed (the article row always holds the latest).
    db["article_revisions"].create(
        {"id": int, "article_id": int, "title": str, "text": str, "text_hash": str, "flagged": int,
         "score": float, "replaced_at": str},
        pk="id", not_null={"article_id", "text", "text_hash", "replaced_at"},
        foreign_keys=[("article_id", "articles", "id")],
    )
    db["article_revisions"].create_index(["article_id"])


def _near_duplicate_index(db: sqlite_utils.Database) -> None:
    # MinHash signature per article, and its LSH band keys: one row per band, looked up by key.
    db.execute("create table minhash (article_id integer primary key references articles(id), signature blob not null)")
    db.execute("create table lsh_buckets (bucket integer not null, article_id integer not null, "
               "primary key (bucket, article_id)) without rowid")


def _backfill_checkpoints(db: sqlite_utils.Database) -> None:
    # One row per finished chunk of a backfill: a rerun of the same range skips it.
    db["backfill_checkpoints"].create(
        {"backfill": str, "source": str, "chunk": int, "urls_hash": str, "pages": int, "stored": int,
         "failed": int, "done_at": str},
        pk=("backfill", "source", "chunk"), not_null={"urls_hash", "pages", "stored", "failed", "done_at"},
    )


def _site_memory(db: sqlite_utils.Database) -> None:
    # Per site: the stories learnt from, and on how many of them each line (a fingerprint) was seen.
    db.execute("create table sites (host text primary key, pages integer not null)")
    db.execute("create table site_lines (host text not null, fingerprint integer not null, pages integer not null, "
               "primary key (host, fingerprint)) without rowid")


def _near_duplicate_scheme(db: sqlite_utils.Database) -> None:
    # How the stored signatures were made: when newswatch makes them another way, the store rebuilds
    # its near-duplicate index (Store). Empty here, so a store made before this rebuilds it once.
    db.execute("create table neardup_scheme (scheme text not null)")


def _topics_and_states(db: sqlite_utils.Database) -> None:
    # Every topic an article reports (not only its best), each topic's label, a story's state per
    # topic, and each change of that state with the article and sentence that made it.
    db["topics"].create({"id": str, "label": str}, pk="id")
    db["article_topics"].create(
        {"article_id": int, "topic": str, "flagged": int, "score": float, "state": str, "state_sentence": str,
         "evidence": str, "matched": str},
        pk=("article_id", "topic"), not_null={"flagged", "score"}, foreign_keys=[("article_id", "articles", "id")],
    )
    db["article_topics"].create_index(["topic"])
    db["story_topics"].create(
        {"story_id": int, "topic": str, "state": str, "score": float, "state_published": str,
         "first_flagged": str, "changed_at": str},
        pk=("story_id", "topic"), foreign_keys=[("story_id", "stories", "id")],
    )
    db["story_states"].create(
        {"id": int, "story_id": int, "topic": str, "state": str, "previous_state": str, "article_id": int,
         "sentence": str, "changed_at": str},
        pk="id", not_null={"story_id", "topic", "article_id", "changed_at"},
        foreign_keys=[("story_id", "stories", "id"), ("article_id", "articles", "id")],
    )
    db["story_states"].create_index(["story_id", "topic"])
    db["articles"].add_column("topic", str)
    # An alert is for one change of a story's state (its first flagging is one) and one channel.
    db["alerts"].add_column("topic", str)
    db["alerts"].add_column("change_id", int)
    db.execute("drop index idx_alerts_story_id_channel")
    db["alerts"].create_index(["channel", "change_id"], unique=True)
    # What was stored before topics were: topic '' (any topic), which the first topic to flag the
    # story again claims (Articles._claim_untopiced). Each flagged story's state is its first change,
    # and its alerts are for that change, so nothing is alerted twice.
    db.execute("insert into article_topics (article_id, topic, flagged, score, state, evidence, matched) "
               "select id, '', flagged, score, state, evidence, matched from articles where score > 0")
    flagged = db.execute(
        "select stories.id, stories.state, stories.score, stories.first_seen, "
        "(select min(id) from articles where story_id = stories.id and flagged = 1), "
        "(select min(id) from articles where story_id = stories.id) from stories where flagged = 1").fetchall()
    for story_id, state, score, first_seen, flagged_article, first_article in flagged:
        db.execute("insert into story_topics (story_id, topic, state, score, first_flagged, changed_at) "
                   "values (?, '', ?, ?, ?, ?)", [story_id, state, score, first_seen, first_seen])
        change_id = db["story_states"].insert({
            "story_id": story_id, "topic": "", "state": state, "article_id": flagged_article or first_article,
            "changed_at": first_seen}).last_pk
        db.execute("update alerts set change_id = ?, topic = '' where story_id = ?", [change_id, story_id])
    # Webhook URLs carry their token in the path, a header or a parameter, which apprise's masking
    # leaves in clear: such labels keep their scheme and host only.
    for alert_id, label in db.execute("select id, channel_label from alerts where channel_label like 'json%' "
                                      "or channel_label like 'form%' or channel_label like 'xml%'").fetchall():
        scheme, _, rest = label.partition("://")
        db.execute("update alerts set channel_label = ? where id = ?",
                   [f"{scheme}://{rest.split('/')[0].split('?')[0].rpartition('@')[2]}/****", alert_id])


def _entry_fingerprints(db: sqlite_utils.Database) -> None:
    # A hash of the guid, title and summary the feed gave an entry: when it changes with no new
    # date, the page is fetched again as a possible update.
    db["articles"].add_column("entry_fingerprint", str)


def _full_text_index(db: sqlite_utils.Database) -> None:
    # Search over headlines and texts (FTS5, ranked by bm25). The index holds no text of its own: it
    # reads the articles table, and triggers keep it in step with every insert, revision and delete.
    # Words as written, in any script, case and diacritics aside ("rohani" finds "Rohaní"). No English
    # stemmer: it would stem German and French words wrongly, and a prefix query ("negotiat*") finds no
    # stemmed word ("negoti") shorter than itself. Prefixes are how a search takes in a word's forms.
    # content="articles", double-quoted: how Datasette and sqlite-utils recognise a table's index.
    db.execute("create virtual table articles_fts using fts5(title, text, content=\"articles\", content_rowid=id, "
               "tokenize='unicode61 remove_diacritics 2')")
    db.execute("create trigger articles_fts_insert after insert on articles begin "
               "insert into articles_fts (rowid, title, text) values (new.id, new.title, new.text); end")
    db.execute("create trigger articles_fts_delete after delete on articles begin "
               "insert into articles_fts (articles_fts, rowid, title, text) values ('delete', old.id, old.title, "
               "old.text); end")
    # Only a new headline or text changes what is indexed: a run's other updates cost nothing here.
    db.execute("create trigger articles_fts_update after update of title, text on articles begin "
               "insert into articles_fts (articles_fts, rowid, title, text) values ('delete', old.id, old.title, "
               "old.text); insert into articles_fts (rowid, title, text) values (new.id, new.title, new.text); end")
    db.execute("insert into articles_fts (articles_fts) values ('rebuild')")


MIGRATIONS = [
    (1, "initial schema", _initial),
    (2, "articles.matched", _matched_words),
    (3, "alerts.next_attempt_at", _alert_retry_time),
    (4, "source_health", _source_health),
    (5, "http_cache", _http_cache),
    (6, "revisions", _revisions),
    (7, "near-duplicate index", _near_duplicate_index),
    (8, "backfill checkpoints", _backfill_checkpoints),
    (9, "site memory", _site_memory),
    (10, "near-duplicate signature scheme", _near_duplicate_scheme),
    (11, "topics per article and story, story state history, alerts per state change", _topics_and_states),
    (12, "articles.entry_fingerprint", _entry_fingerprints),
    (13, "full-text index of articles", _full_text_index),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]


def migrate(db: sqlite_utils.Database) -> None:
    """Bring the database to SCHEMA_VERSION in one transaction (concurrent openers wait, then skip)."""
    with immediate_transaction(db.conn):
        db["schema_migrations"].create(
            {"version": int, "name": str, "applied_at": str}, pk="version", if_not_exists=True
        )
        applied = {row["version"] for row in db["schema_migrations"].rows}
        if applied and max(applied) > SCHEMA_VERSION:
            raise ValueError(
                f"the store has schema version {max(applied)}, newer than this newswatch ({SCHEMA_VERSION})"
            )
        for version, name, apply in MIGRATIONS:
            if version not in applied:
                apply(db)
                db["schema_migrations"].insert(
                    {"version": version, "name": name, "applied_at": datetime.now(UTC).isoformat()}
                )


def require_store(db: sqlite_utils.Database, path) -> list[str]:
    """Raise ValueError unless ``db`` is a newswatch store or a database without tables yet: newswatch
    never writes its tables into another program's database, nor opens a file that is not SQLite.
    Returns the database's tables."""
    try:
        tables = db.table_names()
    except sqlite3.DatabaseError as exc:
        if exc.sqlite_errorname != "SQLITE_NOTADB":
            raise
        raise ValueError(f"{path} is not a newswatch store: {exc}") from None
    if "schema_migrations" not in tables and (others := [t for t in tables if not t.startswith("sqlite_")]):
        raise ValueError(f"{path} is not a newswatch store: it holds other tables ({', '.join(others[:3])}"
                         f"{', ...' if len(others) > 3 else ''}); give newswatch a store of its own")
    return tables


def require_current(db: sqlite_utils.Database, path) -> None:
    """Raise ValueError unless ``db`` is a store at SCHEMA_VERSION (for readers that must not migrate)."""
    if "schema_migrations" not in require_store(db, path):
        raise ValueError(f"{path} is not a newswatch store")
    (version,) = db.execute("select max(version) from schema_migrations").fetchone()
    if version != SCHEMA_VERSION:
        raise ValueError(f"{path} has schema version {version}, and this newswatch reads version {SCHEMA_VERSION}"
                         " (any newswatch command that writes to it, such as `newswatch run`, upgrades it)")
