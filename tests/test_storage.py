import random
import sqlite3
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from detectors import Detection
from extractors import MEMORY_PAGES, Article
from storage import SCHEMA_VERSION, AlertChannel, Store, StoreBusy, run_lock

ROOT = Path(__file__).resolve().parents[1]

FLAGGED = Detection("us-iran-talks", True, 0.9, ["US and Iran met."], "held or ongoing")
NOT_FLAGGED = Detection("us-iran-talks", False, 0.0)
EMAIL = AlertChannel("key-email", "mailto://***@example.org")
SLACK = AlertChannel("key-slack", "slack://T***/B***/****")


def article(url, text="US and Iranian envoys met in Muscat.", canonical=None, title="Envoys meet"):
    return Article(url=url, canonical_url=canonical or url, title=title, text=text)


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "news.db") as opened:
        yield opened


def test_schema_is_migrated_once(tmp_path):
    Store(tmp_path / "news.db").close()
    with Store(tmp_path / "news.db") as store:
        assert [r["version"] for r in store.db["schema_migrations"].rows] == list(range(1, SCHEMA_VERSION + 1))
        assert {"articles", "stories", "alerts", "fetch_failures"} <= set(store.db.table_names())
        assert store.db.execute("pragma journal_mode").fetchone()[0] == "wal"


def test_an_older_store_is_upgraded_with_its_data(tmp_path):
    import sqlite_utils

    from storage._schema import MIGRATIONS

    old = sqlite_utils.Database(tmp_path / "news.db")
    version, name, apply = MIGRATIONS[0]
    apply(old)
    old["schema_migrations"].insert({"version": version, "name": name, "applied_at": "before"})
    old["stories"].insert({"id": 1, "first_url": "https://a.example/1", "first_seen": "before", "flagged": 1})
    old["articles"].insert({"url": "https://a.example/1", "text": "t", "text_hash": "h", "source": "A",
                            "story_id": 1, "flagged": 1, "fetched_at": "before"})
    old.close()
    with Store(tmp_path / "news.db") as store:
        assert "matched" in store.db["articles"].columns_dict
        assert [row["url"] for row in store.articles()] == ["https://a.example/1"]


def test_another_programs_database_is_left_alone(tmp_path):
    path = tmp_path / "crm.db"
    conn = sqlite3.connect(path)
    conn.execute("create table customers (id integer primary key, name text)")
    conn.commit()
    conn.close()
    for read_only in (False, True):
        with pytest.raises(ValueError, match=r"crm.db is not a newswatch store: it holds other tables \(customers\)"):
            Store(path, read_only=read_only)
    conn = sqlite3.connect(path)
    assert [name for (name,) in conn.execute("select name from sqlite_master")] == ["customers"]
    assert conn.execute("pragma journal_mode").fetchone() == ("delete",)
    conn.close()


def test_a_file_that_is_not_sqlite_is_refused_untouched(tmp_path):
    path = tmp_path / "notes.db"
    path.write_text("shopping list")
    for read_only in (False, True):
        with pytest.raises(ValueError, match="notes.db is not a newswatch store: file is not a database"):
            Store(path, read_only=read_only)
    assert path.read_text() == "shopping list"


def test_a_newer_schema_is_refused(tmp_path):
    Store(tmp_path / "news.db").close()
    conn = sqlite3.connect(tmp_path / "news.db")
    conn.execute("insert into schema_migrations values (?, 'future', 'later')", [SCHEMA_VERSION + 1])
    conn.commit()
    conn.close()
    with pytest.raises(ValueError, match="newer than this newswatch"):
        Store(tmp_path / "news.db")


def test_new_article_enqueues_one_alert_per_channel(store):
    saved = store.save_article(article("https://a.example/1"), FLAGGED, source="A", channels=[EMAIL, SLACK])
    assert (saved.status, saved.alerts_enqueued) == ("new", 2)
    assert {a.channel for a in store.pending_alerts([EMAIL.key, SLACK.key])} == {EMAIL.key, SLACK.key}
    assert [a.channel for a in store.pending_alerts([EMAIL.key])] == [EMAIL.key]


def test_unflagged_article_enqueues_nothing(store):
    saved = store.save_article(article("https://a.example/1"), NOT_FLAGGED, source="A", channels=[EMAIL])
    assert saved.alerts_enqueued == 0
    assert store.pending_alerts([EMAIL.key]) == []


def test_same_url_and_text_is_known_and_writes_nothing(store):
    first = store.save_article(article("https://a.example/1"), FLAGGED, source="A", channels=[EMAIL])
    again = store.save_article(article("https://a.example/1"), FLAGGED, source="A", channels=[EMAIL])
    assert again.status == "known" and again.article_id == first.article_id
    assert store.db["articles"].count == 1 and store.db["article_revisions"].count == 0
    assert len(store.pending_alerts([EMAIL.key])) == 1


def test_changed_text_is_a_revision_and_does_not_alert_twice(store):
    first = store.save_article(article("https://a.example/1"), FLAGGED, source="A", channels=[EMAIL])
    update = article("https://a.example/1", text="Updated: US and Iranian envoys met again in Muscat.")
    revised = store.save_article(update, FLAGGED, source="A", channels=[EMAIL])
    assert (revised.status, revised.article_id, revised.alerts_enqueued) == ("revised", first.article_id, 0)
    (row,) = store.db.query("select text from articles")
    assert row["text"].startswith("Updated:")
    (old,) = store.db.query("select text from article_revisions")
    assert old["text"] == "US and Iranian envoys met in Muscat."
    assert len(store.pending_alerts([EMAIL.key])) == 1


def test_a_revision_that_adds_the_talks_alerts_once(store):
    store.save_article(article("https://a.example/1", text="Oil prices rose."), NOT_FLAGGED, source="A",
                       channels=[EMAIL])
    assert store.pending_alerts([EMAIL.key]) == []
    revised = store.save_article(article("https://a.example/1"), FLAGGED, source="A", channels=[EMAIL])
    assert (revised.status, revised.alerts_enqueued) == ("revised", 1)
    (story,) = store.db.query("select flagged from stories")
    assert story["flagged"] == 1
    third = article("https://a.example/1", text="US and Iranian envoys met in Muscat, a third version.")
    assert store.save_article(third, FLAGGED, source="A", channels=[EMAIL]).alerts_enqueued == 0


def test_entry_dates_and_fingerprints_are_remembered(store):
    store.save_article(article("https://a.example/1"), FLAGGED, source="A")
    store.record_entry_versions({"https://a.example/1": "Mon, 01 Jan 2024", "https://a.example/unknown": "x"},
                                {"https://a.example/1": "abc123"})
    assert store.entry_versions(["https://a.example/1", "https://a.example/unknown"]) == {
        "https://a.example/1": ("Mon, 01 Jan 2024", "abc123")}


def test_same_text_elsewhere_joins_the_story_without_alerting(store):
    first = store.save_article(article("https://a.example/1"), FLAGGED, source="A", channels=[EMAIL])
    copy = article("https://b.example/x", text="  us AND iranian envoys met in   Muscat. ")
    saved = store.save_article(copy, FLAGGED, source="B", channels=[EMAIL])
    assert (saved.status, saved.story_id, saved.duplicate_of) == ("duplicate", first.story_id, first.article_id)
    assert saved.alerts_enqueued == 0
    assert len(store.pending_alerts([EMAIL.key])) == 1


def test_same_canonical_url_joins_the_story(store):
    first = store.save_article(article("https://a.example/1"), FLAGGED, source="A", channels=[EMAIL])
    amp = article("https://a.example/1/amp", text="Different markup, same story.", canonical="https://a.example/1")
    assert store.save_article(amp, FLAGGED, source="A", channels=[EMAIL]).story_id == first.story_id
    assert store.known_urls(["https://a.example/1", "https://a.example/1/amp", "https://c.example/"]) == {
        "https://a.example/1", "https://a.example/1/amp"}


def test_alert_outcomes_are_recorded(store):
    store.save_article(article("https://a.example/1"), FLAGGED, source="A", channels=[EMAIL, SLACK])
    email, slack = store.pending_alerts([EMAIL.key, SLACK.key])
    store.mark_alert_sent(email.alert_id)
    assert store.mark_alert_failed(slack.alert_id, "HTTP 500") == "failed"
    assert store.pending_alerts([EMAIL.key, SLACK.key]) == []  # the failed one waits for its backoff
    rows = {row["id"]: row for row in store.alerts()}
    assert rows[email.alert_id]["status"] == "sent" and rows[email.alert_id]["sent_at"]
    assert rows[slack.alert_id]["last_error"] == "HTTP 500" and rows[slack.alert_id]["next_attempt_at"]

    assert store.retry_alerts() == 1
    (retry,) = store.pending_alerts([EMAIL.key, SLACK.key])
    assert retry.alert_id == slack.alert_id and retry.attempts == 1


def test_backoff_doubles_and_the_alert_gives_up_at_the_limit(store):
    from datetime import datetime

    store.save_article(article("https://a.example/1"), FLAGGED, source="A", channels=[EMAIL])
    (alert,) = store.pending_alerts([EMAIL.key])
    waits = []
    for expected in ["failed", "failed", "gave up"]:
        before = datetime.now().astimezone()
        assert store.mark_alert_failed(alert.alert_id, "down", max_attempts=3) == expected
        (row,) = store.alerts()
        waits.append((datetime.fromisoformat(row["next_attempt_at"]) - before).total_seconds())
    assert 50 < waits[0] < 70 and 110 < waits[1] < 130  # 1 minute, then 2
    assert row["status"] == "gave up" and row["attempts"] == 3
    assert store.retry_alerts([alert.alert_id]) == 1
    assert [a.alert_id for a in store.pending_alerts([EMAIL.key])] == [alert.alert_id]


def test_failures_are_retried_until_the_limit(store):
    for _ in range(2):
        store.record_failure("https://a.example/bad", source="A", reason="HTTP 500")
    store.record_failure("https://a.example/feed", source="A", reason="unreadable", kind="feed")
    assert store.urls_to_retry("A", max_attempts=3) == ["https://a.example/bad"]
    assert store.urls_to_retry("A", max_attempts=2) == []
    assert store.urls_to_retry("B") == []
    store.save_article(article("https://a.example/bad"), NOT_FLAGGED, source="A")
    assert [row["url"] for row in store.failures()] == ["https://a.example/feed"]


def test_two_writers_store_one_article_and_one_alert(tmp_path):
    Store(tmp_path / "news.db").close()
    results, barrier = [], threading.Barrier(2)

    def write():
        with Store(tmp_path / "news.db") as own:
            barrier.wait()
            results.append(own.save_article(article("https://a.example/1"), FLAGGED, source="A", channels=[EMAIL]))

    threads = [threading.Thread(target=write) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status for r in results) == ["known", "new"]
    with Store(tmp_path / "news.db") as store:
        assert store.db["articles"].count == 1
        assert store.db["alerts"].count == 1


def test_dark_since_is_shown_only_once_a_source_is_dark(store):
    store.record_source_run("A", error="HTTP 500", dark_after=3)
    assert store.source_health(dark_after=3)[0]["dark_since"] is None  # one failure: not dark yet
    store.record_source_run("A", error="HTTP 500", dark_after=3)
    store.record_source_run("A", error="HTTP 500", dark_after=3)
    (row,) = store.source_health(dark_after=3)
    assert row["dark_since"] is not None and row["dark_since"] <= row["last_failure"]
    assert store.source_health(dark_after=4)[0]["dark_since"] is None


def test_a_read_only_file_is_one_error_that_says_what_to_do(tmp_path):
    import sqlite3

    from storage import StoreError

    Store(tmp_path / "s.db").close()
    reader = sqlite3.connect(f"{(tmp_path / 's.db').as_uri()}?mode=ro", uri=True)
    with pytest.raises(sqlite3.OperationalError) as raised:  # what SQLite says when it may not write
        reader.execute("create table t (x)")
    error = StoreError.from_sqlite(tmp_path / "s.db", raised.value)
    assert str(error).endswith("the file or its folder is read-only: make it writable, or pass another --db")


def test_source_health_transitions(store):
    runs = [store.record_source_run("A", error="HTTP 500", dark_after=2) for _ in range(3)]
    assert runs == [None, "dark", "dark"]  # dark is reported until the notice is out
    store.source_notified("A", dark=True)
    assert store.record_source_run("A", error="HTTP 500", dark_after=2) is None
    (row,) = store.source_health()
    assert (row["consecutive_failures"], row["last_error"], row["dark_notified"]) == (4, "HTTP 500", 1)
    assert store.record_source_run("A", error=None, dark_after=2) == "recovered"
    store.source_notified("A", dark=False)
    assert store.record_source_run("A", error=None, dark_after=2) is None
    (row,) = store.source_health()
    assert (row["consecutive_failures"], row["dark_since"], row["last_success"] is not None) == (0, None, True)


def seed_text(name: str) -> str:
    import seeds

    return (seeds.DOCUMENTS_DIR / name).read_text()


SEED_000 = "000_2fbd25fc408c1193.txt"
SEED_002 = "002_082fa78cfa3d0590.txt"


def syndicated(text: str) -> str:
    """A wire copy: first paragraph dropped, a few words changed, an 'Updated' line on top."""
    paragraphs = [p for p in text.split("\n\n") if p.strip()][2:]
    edited = " ".join(paragraphs).replace("Rouhani", "Hassan Rouhani", 2).replace("weekend", "week-end", 1)
    return "Updated 2 hours ago\n" + edited


def test_a_syndicated_copy_joins_the_story_from_another_process(tmp_path):
    with Store(tmp_path / "news.db") as first:
        original = first.save_article(article("https://wire.example/iran", text=seed_text(SEED_000)), FLAGGED,
                                      source="Wire", channels=[EMAIL])
    with Store(tmp_path / "news.db") as second:  # a later run: the index is in the file
        copy = second.save_article(article("https://daily.example/world/iran-meeting",
                                           text=syndicated(seed_text(SEED_000)), title="A new headline"),
                                   FLAGGED, source="Daily", channels=[EMAIL])
        assert (copy.status, copy.story_id, copy.duplicate_of) == ("duplicate", original.story_id,
                                                                    original.article_id)
        assert copy.alerts_enqueued == 0
        (pending,) = second.pending_alerts([EMAIL.key])
        assert pending.also_reported_by == [{"outlet": "Daily", "url": "https://daily.example/world/iran-meeting"}]
        (story,) = second.stories()
        assert story["outlets"] == ["Wire", "Daily"]
        assert story["urls"] == ["https://wire.example/iran", "https://daily.example/world/iran-meeting"]


def test_distinct_articles_on_the_same_topic_stay_apart(store):
    a = store.save_article(article("https://a.example/1", text=seed_text(SEED_000)), FLAGGED, source="A")
    b = store.save_article(article("https://b.example/2", text=seed_text(SEED_002)), FLAGGED, source="B")
    assert (a.status, b.status) == ("new", "new") and a.story_id != b.story_id


def test_short_texts_never_match_by_content(store):
    first = store.save_article(article("https://a.example/1", text="Iran and US envoys met in Oman on Saturday."),
                               FLAGGED, source="A")
    similar = store.save_article(article("https://b.example/2", text="Iran and US envoys met in Oman on Sunday."),
                                 FLAGGED, source="B")
    assert similar.status == "new" and similar.story_id != first.story_id
    assert store.db["lsh_buckets"].count == 0  # too short to be indexed


def test_a_revision_is_reindexed(store):
    store.save_article(article("https://a.example/1", text=seed_text(SEED_002)), FLAGGED, source="A")
    store.save_article(article("https://a.example/1", text=seed_text(SEED_000)), FLAGGED, source="A")  # rewritten
    copy = store.save_article(article("https://b.example/2", text=syndicated(seed_text(SEED_000))), FLAGGED,
                              source="B")
    assert copy.status == "duplicate"
    assert store.db["minhash"].count == 1 + 1 and store.db["lsh_buckets"].count == 2 * 40


def test_signatures_are_the_same_in_another_process():
    """The index lives in the file, so a signature must not depend on the process that made it
    (as a hash with a per-process random key would)."""
    import subprocess
    import sys

    from storage import _neardup

    code = ("import sys; from storage import _neardup; "
            "sys.stdout.write(_neardup.signature(_neardup.shingles(sys.stdin.read())).hex())")
    other = subprocess.run([sys.executable, "-c", code], input=seed_text(SEED_000), capture_output=True,
                           text=True, check=True).stdout
    assert other == _neardup.signature(_neardup.shingles(seed_text(SEED_000))).hex()


def test_signatures_made_another_way_are_rebuilt_when_the_store_opens(tmp_path):
    from storage import _neardup

    with Store(tmp_path / "news.db") as store:
        original = store.save_article(article("https://a.example/1", text=seed_text(SEED_000)), FLAGGED,
                                      source="A")
        # What an older newswatch left: signatures of another MinHash, and no scheme recorded.
        with store.batch():
            store._index(original.article_id, random.Random(1).randbytes(_neardup.NUM_PERM * 4))
            store.db.execute("delete from neardup_scheme")
    with Store(tmp_path / "news.db") as store:
        assert store.db.execute("select scheme from neardup_scheme").fetchall() == [(_neardup.SCHEME,)]
        assert store.db["lsh_buckets"].count == 40
        copy = store.save_article(article("https://b.example/2", text=syndicated(seed_text(SEED_000))), FLAGGED,
                                  source="B")
        assert (copy.status, copy.duplicate_of) == ("duplicate", original.article_id)


def test_batch_is_all_or_nothing_and_nested_writes_stay_whole(tmp_path):
    quiet = Detection("us-iran-talks", False, 0.0)

    def article(n: int) -> Article:
        return Article(url=f"https://a.example/{n}", canonical_url=None, title=f"Story {n}", text=f"Story number {n}.")

    with Store(tmp_path / "news.db") as store:
        with pytest.raises(RuntimeError):
            with store.batch():
                store.save_article(article(1), quiet, source="A")
                raise RuntimeError("the process dies mid-batch")
        assert store.db["articles"].count == 0  # nothing of a failed batch stays
        with store.batch():
            store.save_article(article(1), quiet, source="A")
            with pytest.raises(RuntimeError):
                with store.batch():  # a write inside a batch fails: only its own changes go
                    store.save_article(article(2), quiet, source="A")
                    raise RuntimeError("one write fails")
            store.save_article(article(3), quiet, source="A")
        assert sorted(r["url"] for r in store.articles()) == ["https://a.example/1", "https://a.example/3"]


# -- site memory ---------------------------------------------------------------------------------

SIGN_OFF = "The Gulf Courier is an independent newspaper, read in Muscat since 1897."


PLACES = "Muscat Sohar Sur Nizwa Salalah Khasab Duqm Ibri Rustaq Bahla".split()


def own_line(number: int) -> str:
    """A line of one story alone (numbers do not tell lines apart: the site memory ignores them)."""
    return f"The ferry from {PLACES[number % 10]} to {PLACES[number // 10 % 10]} sails again this week."


def courier_story(number: int, host: str = "www.gulf-courier.example") -> Article:
    return article(f"https://{host}/news/{number}", text=f"{own_line(number)}\n{SIGN_OFF}", title=f"Story {number}")


def test_a_line_seen_on_enough_stories_of_a_site_is_its_chrome(store):
    for number in range(1, 3):
        store.save_article(courier_story(number), NOT_FLAGGED, source="Courier")
    assert store.site_memories(["https://gulf-courier.example/news/9"]) == {}  # two stories: not yet
    store.save_article(courier_story(3), NOT_FLAGGED, source="Courier")
    (memory,) = store.site_memories(["https://gulf-courier.example/news/9"]).values()
    kept, removed = memory.drop_repeated(courier_story(9).text)
    assert kept == own_line(9) and [r.text for r in removed] == [SIGN_OFF]
    assert memory.pages == 3
    assert store.site_memories(["https://other.example/news/1"]) == {}


def test_copies_of_a_story_do_not_teach_the_site_memory(store):
    original = courier_story(1)
    store.save_article(original, NOT_FLAGGED, source="Courier")
    for copy in range(2, 5):  # the same text at other URLs: one story, however many pages
        store.save_article(article(f"https://gulf-courier.example/copy/{copy}", text=original.text),
                           NOT_FLAGGED, source="Courier")
    store.save_article(article(original.url, text=original.text + "\nA correction."), NOT_FLAGGED, source="Courier")
    assert store.site_memories([original.url]) == {}


def test_a_line_must_recur_on_a_share_of_the_site(store):
    """On a site of 40 stories, a line three of them share is a phrase, not chrome (it needs 10%)."""
    for number in range(40):
        text = own_line(number)
        if number < 3:
            text += "\nThe minister declined to comment."
        store.save_article(article(f"https://gulf-courier.example/news/{number}", text=text), NOT_FLAGGED,
                           source="Courier")
    assert store.site_memories(["https://gulf-courier.example/"]) == {}


WORDS = ("ferry harbour minister council budget school storm festival market fishermen road hospital water "
         "port court election museum dates camels tourism").split()


def unique_story(number: int, sign_off: str) -> Article:
    """A story of its own (no copy of another), closed by the site's sign-off."""
    line = " ".join(random.Random(number).sample(WORDS, 12)).capitalize() + "."
    return article(f"https://gulf-courier.example/news/{number}", text=f"{line}\n{sign_off}")


def host_counts(store) -> tuple[int, int]:
    (pages,) = store.db.execute("select pages from sites where host = 'gulf-courier.example'").fetchone()
    (lines,) = store.db.execute("select count(*) from site_lines where host = 'gulf-courier.example'").fetchone()
    return pages, lines


def test_the_memory_halves_its_counts_and_forgets_lines_of_one_story(store):
    for number in range(2 * MEMORY_PAGES):
        store.save_article(unique_story(number, SIGN_OFF), NOT_FLAGGED, source="Courier")
    assert host_counts(store) == (MEMORY_PAGES, 1)  # the sign-off alone is left
    (memory,) = store.site_memories(["https://gulf-courier.example/news/1"]).values()
    assert memory.drop_repeated(f"A new story.\n{SIGN_OFF}")[0] == "A new story."


def test_a_new_sign_off_is_learnt_as_fast_on_an_old_site(store):
    """After the halving, a line needs 10% of the recent stories, not of every story the site had."""
    for number in range(2 * MEMORY_PAGES):
        store.save_article(unique_story(number, SIGN_OFF), NOT_FLAGGED, source="Courier")
    new_sign_off = "Read the Gulf Courier on your phone: download our app."
    for number in range(2 * MEMORY_PAGES, 2 * MEMORY_PAGES + MEMORY_PAGES // 9 + 1):
        store.save_article(unique_story(number, new_sign_off), NOT_FLAGGED, source="Courier")
    (memory,) = store.site_memories(["https://gulf-courier.example/news/1"]).values()
    assert memory.drop_repeated(f"A new story.\n{new_sign_off}")[0] == "A new story."


def test_a_store_opened_read_only_changes_nothing(tmp_path):
    with Store(tmp_path / "news.db") as store:
        for number in range(1, 4):
            store.save_article(courier_story(number), NOT_FLAGGED, source="Courier")
    before = (tmp_path / "news.db").read_bytes()
    with Store(tmp_path / "news.db", read_only=True) as store:
        assert set(store.site_memories()) == {"gulf-courier.example"}
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            store.save_article(courier_story(4), NOT_FLAGGED, source="Courier")
    # SQLite may leave its shared-memory index (news.db-shm) beside the file; the data is untouched.
    assert (tmp_path / "news.db").read_bytes() == before
    assert not (tmp_path / "news.db-wal").exists() or not (tmp_path / "news.db-wal").stat().st_size


def test_read_only_refuses_what_is_not_a_current_store(tmp_path):
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("create table notes (body text)").connection.commit()
    with pytest.raises(ValueError, match="not a newswatch store"):
        Store(other, read_only=True)
    Store(tmp_path / "news.db").close()
    conn = sqlite3.connect(tmp_path / "news.db")
    conn.execute("delete from schema_migrations where version = ?", [SCHEMA_VERSION])
    conn.commit()
    conn.close()
    with pytest.raises(ValueError, match=f"schema version {SCHEMA_VERSION - 1}"):
        Store(tmp_path / "news.db", read_only=True)


def test_run_lock_is_exclusive_and_released_when_the_holder_dies(tmp_path):
    db = tmp_path / "news.db"
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from storage import run_lock\n"
                               "with run_lock(sys.argv[1]):\n    print('held', flush=True); time.sleep(60)", str(db)],
                              cwd=ROOT, stdout=subprocess.PIPE)
    assert holder.stdout.readline() == b"held\n"
    with pytest.raises(StoreBusy, match="another newswatch run"):
        with run_lock(db, wait=0.2):
            pass
    holder.kill()
    holder.wait()
    with run_lock(db, wait=5):  # the operating system released the dead holder's lock
        pass


def test_an_article_that_reports_two_topics_keeps_both_and_alerts_each(store):
    iran = Detection("us-iran-talks", True, 0.9, ["US and Iran met."], "held or ongoing", label="US–Iran talks")
    venezuela = Detection("us-venezuela-talks", True, 0.6, ["US and Venezuela agreed to meet."], "scheduled",
                          label="US–Venezuela talks")
    quiet = Detection("us-cuba-talks", False, 0.0)
    saved = store.save_article(article("https://a.example/1"), [venezuela, quiet, iran], source="A", channels=[EMAIL])
    assert saved.alerts_enqueued == 2  # one per topic
    (row,) = store.articles()
    assert (row["topic"], row["state"]) == ("us-iran-talks", "held or ongoing")  # the best topic's
    assert [(t["topic"], t["flagged"], t["state"]) for t in row["topics"]] == [
        ("us-iran-talks", True, "held or ongoing"), ("us-venezuela-talks", True, "scheduled")]
    (story,) = store.stories()
    assert [(t["topic"], t["label"], t["state"]) for t in story["topics"]] == [
        ("us-iran-talks", "US–Iran talks", "held or ongoing"), ("us-venezuela-talks", "US–Venezuela talks", "scheduled")]
    pending = store.pending_alerts([EMAIL.key])
    assert [(p.topic, p.topic_label, p.state, p.evidence) for p in pending] == [
        ("us-iran-talks", "US–Iran talks", "held or ongoing", ["US and Iran met."]),
        ("us-venezuela-talks", "US–Venezuela talks", "scheduled", ["US and Venezuela agreed to meet."])]


def test_a_store_from_before_topics_alerts_its_flagged_stories_no_more(tmp_path):
    """A flagged, alerted story of a store made before topics were kept: the first topic to flag it
    again claims it; its next copy alerts nothing, a state change alerts once; webhook labels lose
    their secrets."""
    import sqlite_utils

    from storage._schema import MIGRATIONS

    old = sqlite_utils.Database(tmp_path / "news.db")
    for version, name, apply in [m for m in MIGRATIONS if m[0] <= 10]:  # the schema before topics
        apply(old)
        old["schema_migrations"].insert({"version": version, "name": name, "applied_at": "before"})
    old["stories"].insert({"id": 1, "first_url": "https://a.example/1", "first_seen": "before", "flagged": 1,
                           "state": "held or ongoing", "score": 0.9})
    old["articles"].insert({"id": 1, "url": "https://a.example/1", "canonical_url": "https://a.example/1", "text": "t",
                            "text_hash": "h", "source": "A", "story_id": 1, "flagged": 1, "score": 0.9,
                            "state": "held or ongoing", "evidence": '["US and Iran met."]', "fetched_at": "before"})
    old["alerts"].insert({"story_id": 1, "article_id": 1, "channel": EMAIL.key, "status": "sent", "attempts": 1,
                          "channel_label": "json://hooks.example.org/T0KEN?-apikey=S3CRET", "created_at": "before"})
    old.close()
    with Store(tmp_path / "news.db") as store:
        (label,) = [row["channel_label"] for row in store.alerts()]
        assert label == "json://hooks.example.org/****"
        copy = store.save_article(article("https://b.example/1", canonical="https://a.example/1"), FLAGGED,
                                  source="B", channels=[EMAIL])
        assert (copy.status, copy.alerts_enqueued) == ("duplicate", 0)
        moved = replace(FLAGGED, state="agreed")
        assert store.save_article(article("https://c.example/1", canonical="https://a.example/1"), moved,
                                  source="C", channels=[EMAIL]).alerts_enqueued == 1
        (story,) = store.stories()
    (topic,) = story["topics"]
    assert topic["topic"] == "us-iran-talks"
    assert [(h["previous_state"], h["state"]) for h in topic["history"]] == [
        (None, "held or ongoing"), ("held or ongoing", "agreed")]
