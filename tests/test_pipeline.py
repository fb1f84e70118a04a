"""The monitor run's steps without Prefect, against the loopback seeds site, a real SMTP server and a
temporary store: the behaviour the monitor flow orchestrates."""

import re

import pytest

from helpers import (ARABIC_PATH, CHROME, EUROPE_PATH, FLAGGED_PATHS, NOT_FLAGGED_PATHS, PERSIAN_PATH, REJECTED_PATH,
                     TOKYO_BODY, TOKYO_PATH, run_monitor, seed_paragraphs, seed_routes)
from newswatch.loopback import LoopbackSite, Response
from storage import Store


def run(sources_file, db, mail):
    return run_monitor(sources_file, db, [mail.alert_url()])


def stored_texts(db):
    with Store(db) as store:
        return {row["url"]: row for row in store.db.query("select url, title, text, flagged from articles")}


def test_seed_site_end_to_end(tmp_path, site, mail, sources_file):
    db = tmp_path / "news.db"
    summary = run(sources_file, db, mail)

    assert (summary.new, summary.flagged, summary.failures) == (6, 4, [])
    rows = stored_texts(db)
    assert set(rows) == {site.url(p) for p in FLAGGED_PATHS + NOT_FLAGGED_PATHS}
    for path in FLAGGED_PATHS:
        assert rows[site.url(path)]["flagged"] == 1
    for path in NOT_FLAGGED_PATHS:
        assert rows[site.url(path)]["flagged"] == 0

    tokyo = rows[site.url(TOKYO_PATH)]["text"]
    first, last = TOKYO_BODY[0], TOKYO_BODY[-1]
    assert first in tokyo and last in tokyo
    rejected_paragraphs = seed_paragraphs("000_2fbd25fc408c1193.txt")
    rejected = rows[site.url(REJECTED_PATH)]["text"]
    assert rejected_paragraphs[1] in rejected and rejected_paragraphs[-1] in rejected
    for text in (tokyo, rejected):
        for chrome in CHROME:
            assert chrome not in text
        # Sentences of the teasers of other stories.
        assert "Samuel Charap" not in text
        assert "ProPublica" not in text
        assert "Ursula von der Leyen" not in text

    # Persian and Arabic reports, in their own words and states.
    with Store(db) as store:
        by_url = {row["url"]: row for row in store.articles()}
    arabic, persian = by_url[site.url(ARABIC_PATH)], by_url[site.url(PERSIAN_PATH)]
    assert (arabic["language"], arabic["state"]) == ("ar", "held or ongoing")
    assert (persian["language"], persian["state"]) == ("fa", "scheduled")
    assert "عراقجي" in rows[site.url(ARABIC_PATH)]["text"]  # read as windows-1256, not mojibake
    assert "گفت\u200cوگو" in persian["title"]  # its zero-width non-joiners kept
    for path, footer in ((ARABIC_PATH, "جميع الحقوق محفوظة"), (PERSIAN_PATH, "کلیه حقوق")):
        assert footer not in rows[site.url(path)]["text"]

    # Exactly one email per flagged article, naming its title and URL.
    assert len(mail.messages) == 4
    bodies = {m["subject"]: m.get_body(("plain",)).get_content() for m in mail.messages}
    for path in FLAGGED_PATHS:
        row = rows[site.url(path)]
        (subject,) = [s for s in bodies if row["title"] in s]
        assert site.url(path) in bodies[subject]

    again = run(sources_file, db, mail)
    assert (again.fetched, again.new, again.alerts_sent) == (0, 0, 0)
    assert len(mail.messages) == 4
    assert len(stored_texts(db)) == 6


def test_failed_pages_are_recorded_and_retried(tmp_path, site, mail, sources_file, monkeypatch):
    monkeypatch.setenv("NEWSWATCH_TIMEOUT", "1")
    good = seed_routes(site.base_url)
    site.routes[TOKYO_PATH] = Response(b"<h1>Internal error</h1>", status=500)
    site.routes[REJECTED_PATH] = Response(good[REJECTED_PATH].body, delay=3)
    not_html = NOT_FLAGGED_PATHS[0]
    site.routes[not_html] = Response(b"%PDF-1.7\n\x00\x01binary", "application/pdf")
    db = tmp_path / "news.db"

    summary = run(sources_file, db, mail)

    reasons = dict(summary.failures)
    assert reasons[site.url(TOKYO_PATH)] == "HTTP 500"
    assert reasons[site.url(REJECTED_PATH)].startswith("timeout")
    assert "content type" in reasons[site.url(not_html)]
    assert summary.new == 3  # the healthy pages went through: the English one, the Arabic and the Persian
    with Store(db) as store:
        recorded = {row["url"]: row for row in store.failures()}
    assert set(recorded) == {site.url(TOKYO_PATH), site.url(REJECTED_PATH), site.url(not_html)}
    assert recorded[site.url(TOKYO_PATH)]["reason"] == "HTTP 500"
    assert len(mail.messages) == 2  # the Arabic and the Persian stories

    # The site recovers, and the feed no longer lists the Tokyo page: the next run still fetches it.
    site.routes.update(good)
    feed = site.routes["/review/feed.xml"]
    without_tokyo = re.sub(rb"<item>((?!</item>).)*rouhani-tokyo((?!</item>).)*</item>", b"", feed.body, flags=re.S)
    assert without_tokyo != feed.body
    site.routes["/review/feed.xml"] = Response(without_tokyo, feed.content_type)
    again = run(sources_file, db, mail)

    assert again.failures == []
    assert again.new == 3
    with Store(db) as store:
        assert store.failures() == []
        assert {row["url"] for row in store.articles()} >= {site.url(p) for p in FLAGGED_PATHS}
    assert len(mail.messages) == 4


def test_broken_feed_is_recorded_and_other_sources_go_on(tmp_path, site, mail, sources_file):
    site.routes["/review/feed.xml"] = Response(b"<rss><channel><item><title>broken", "application/rss+xml")
    db = tmp_path / "news.db"

    summary = run(sources_file, db, mail)

    assert [url for url, _ in summary.failures] == [site.url("/review/feed.xml")], summary.failures
    assert summary.new == 4  # the other sources' four articles
    with Store(db) as store:
        assert [row["kind"] for row in store.failures()] == ["feed"]
        assert store.urls_to_retry("The Statecraft Review") == []  # a feed is not retried as a page


def test_two_sources_sharing_a_story_alert_once(tmp_path, mail, monkeypatch):
    """The same article text at two URLs (syndication) is one story and one alert."""
    with LoopbackSite() as site:
        routes = seed_routes(site.base_url)
        site.routes.update(routes)
        site.routes["/mirror/copy.html"] = routes[REJECTED_PATH]
        sources = tmp_path / "sources.toml"
        sources.write_text(
            f'[[sources]]\nname = "Wire"\npages = ["{site.url(REJECTED_PATH)}"]\n\n'
            f'[[sources]]\nname = "Mirror"\npages = ["{site.url("/mirror/copy.html")}"]\n'
        )
        summary = run(sources, tmp_path / "news.db", mail)
    assert (summary.new, summary.duplicates, summary.alerts_sent) == (1, 1, 1)
    assert len(mail.messages) == 1


def test_a_failing_channel_waits_and_is_delivered_once_after_it_recovers(tmp_path, site, mail, sources_file):
    from storage import Store

    hook = LoopbackSite({"/hook": Response(b"down", "text/plain", status=500)})
    with hook:
        webhook = f"json://127.0.0.1:{hook.base_url.rsplit(':', 1)[1]}/hook"
        db = tmp_path / "news.db"
        urls = [mail.alert_url(), webhook]

        first = run_monitor(sources_file, db, urls)
        assert (first.alerts_sent, first.alerts_failed) == (4, 4)  # email went; the webhook did not
        with Store(db) as store:
            failed = [row for row in store.alerts() if row["status"] == "failed"]
        assert len(failed) == 4 and all(row["last_error"] and row["next_attempt_at"] for row in failed)
        assert all("json://" in row["channel_label"] for row in failed)

        hook.routes["/hook"] = Response(b"ok", "text/plain")
        waiting = run_monitor(sources_file, db, urls)
        assert waiting.alerts_sent == 0  # still inside the backoff

        with Store(db) as store:
            store.retry_alerts()  # as if the backoff had passed
        recovered = run_monitor(sources_file, db, urls)
        again = run_monitor(sources_file, db, urls)

    assert (recovered.alerts_sent, again.alerts_sent) == (4, 0)
    assert len([r for r in hook.requests if r.method == "POST"]) == 4 + 4  # four failed tries, four deliveries
    assert len(mail.messages) == 4  # email was never sent twice


def test_no_alert_secret_in_logs_or_store(tmp_path, site, mail, sources_file, caplog):
    import logging
    import sqlite3

    from newswatch.loopback import free_port

    secret = "Sup3rSecretPass"
    dead = f"mailtos://newswatch:{secret}@127.0.0.1:{free_port()}?from=newswatch@example.org&to=desk@example.org"
    working = mail.alert_url() + f"&user=newswatch&pass={secret}"
    caplog.set_level(logging.DEBUG)
    db = tmp_path / "news.db"

    run_monitor(sources_file, db, [dead, working])

    assert caplog.records and secret not in caplog.text
    assert all(secret not in str(record.args) for record in caplog.records)
    dump = "\n".join(sqlite3.connect(db).iterdump())
    assert "desk@example.org" in dump or "mailtos://" in dump  # the channels are there, masked
    assert secret not in dump


@pytest.mark.parametrize("mode, subjects", [
    ("digest", ["[newswatch] 4 new stories"]),
    ("none", []),
])
def test_alert_modes(tmp_path, site, mail, sources_file, mode, subjects):
    db = tmp_path / "news.db"
    summary = run_monitor(sources_file, db, [mail.alert_url()], alert_mode=mode)
    assert summary.flagged == 4
    assert [m["subject"] for m in mail.messages] == subjects
    with Store(db) as store:
        assert len(store.alerts()) == len(subjects) * 4  # digest: every story sent; none: nothing enqueued


def test_no_alert_urls_anywhere_stores_and_sends_nothing_and_says_so(tmp_path, site, sources_file, caplog):
    summary = run_monitor(sources_file, tmp_path / "news.db")
    assert (summary.flagged, summary.alerts_sent) == (4, 0)
    with Store(tmp_path / "news.db") as store:
        assert store.alerts() == []
    (warning,) = [r.getMessage() for r in caplog.records if "no alert channel" in r.getMessage()]
    assert "NEWSWATCH_ALERT_URLS" in warning

    caplog.clear()  # alert mode none asks for no channel: no warning
    run_monitor(sources_file, tmp_path / "other.db", alert_mode="none")
    assert not [r for r in caplog.records if "no alert channel" in r.getMessage()]


def test_a_dark_source_raises_one_notice_and_one_when_it_recovers(tmp_path, site, mail, sources_file, monkeypatch):
    monkeypatch.setenv("NEWSWATCH_DARK_AFTER", "2")
    feed = site.routes["/review/feed.xml"]
    site.routes["/review/feed.xml"] = Response(b"gone", "text/plain", status=404)  # not retried within a run
    db = tmp_path / "news.db"

    def run_once():
        return run_monitor(sources_file, db, [mail.alert_url()])

    def notices():
        return [m["subject"] for m in mail.messages if "source" in m["subject"]]

    assert run_once().dark_sources == []
    assert notices() == []
    assert run_once().dark_sources == ["The Statecraft Review"]
    (dark,) = notices()
    assert dark.startswith("[newswatch] source The Statecraft Review is dark since")
    assert run_once().dark_sources == ["The Statecraft Review"] and len(notices()) == 1  # told once

    site.routes["/review/feed.xml"] = feed
    assert run_once().dark_sources == []
    assert notices()[1:] == ["[newswatch] source The Statecraft Review is back"]
    run_once()
    assert len(notices()) == 2
    with Store(db) as store:
        health = {row["source"]: row for row in store.source_health()}
    assert health["The Statecraft Review"]["consecutive_failures"] == 0
    assert health["Global Wire Daily"]["last_success"]


def test_a_second_run_against_unchanged_feeds_makes_only_304s(tmp_path, site, mail, sources_file):
    db = tmp_path / "news.db"
    run_monitor(sources_file, db, [mail.alert_url()])
    before = len(site.requests)
    again = run_monitor(sources_file, db, [mail.alert_url()])
    second_run = site.requests[before:]
    assert sorted(r.path for r in second_run) == ["/alwaha/rss.xml", "/daily/atom.xml", "/payam/feed.xml",
                                                  "/review/feed.xml"]
    assert all(r.headers.get("If-None-Match") for r in second_run)
    assert (again.announced, again.fetched, again.failures, again.dark_sources) == (0, 0, [], [])


def test_hostile_pages_are_refused_with_reasons_and_the_run_goes_on(tmp_path, mail):
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 40
    article = ("<html><head><title>Talks in Muscat</title></head><body><article><h1>Talks in Muscat</h1>"
               + "<p>Araghchi’s delegation met Omani mediators in Muscat — “a constructive day”, he said.</p>" * 3
               + "</article></body></html>").encode("utf-8")
    # A Persian page in windows-1256 with over 10 KB of ASCII around the article: only the server's
    # header names its charset.
    padding = "<!-- " + "x" * 6000 + " -->"
    persian = "<p>دور دوم مذاکرات غيرمستقيم ايران و آمريکا روز شنبه در مسقط برگزار شد و هيئت‌ها جداگانه نشستند.</p>" * 3
    legacy = (f"<html><head><title>مذاکرات در مسقط</title></head><body>{padding}<article><h1>مذاکرات در مسقط</h1>"
              f"{persian}</article>{padding}</body></html>").encode("cp1256")
    routes = {
        "/huge.html": Response(b"<p>" + b"x" * 50_000_000 + b"</p>"),
        "/binary.html": Response(png),
        "/mislabelled.html": Response(article, "text/html; charset=iso-8859-1"),
        "/legacy.html": Response(legacy, "text/html; charset=windows-1256"),
    }
    with LoopbackSite(routes) as site:
        sources = tmp_path / "sources.toml"
        sources.write_text('[[sources]]\nname = "Hostile"\npages = [' + ", ".join(f'"{site.url(p)}"' for p in routes)
                           + "]\n")
        summary = run_monitor(sources, tmp_path / "news.db", [mail.alert_url()])
    reasons = dict(summary.failures)
    assert reasons[site.url("/huge.html")].startswith("body too large")
    assert reasons[site.url("/binary.html")] == "extraction: binary content, not HTML"
    assert summary.new == 2
    with Store(tmp_path / "news.db") as store:
        texts = dict(store.db.execute("select url, text from articles").fetchall())
    mislabelled, legacy = texts[site.url("/mislabelled.html")], texts[site.url("/legacy.html")]
    assert "Araghchi’s delegation" in mislabelled and "“a constructive day”" in mislabelled and "â€" not in mislabelled
    assert "مذاکرات غيرمستقيم ايران و آمريکا" in legacy


def test_an_updated_entry_is_fetched_again_and_alerts_once_when_it_now_reports_talks(tmp_path, site, mail,
                                                                                     sources_file):
    db = tmp_path / "news.db"

    def run_once():
        return run_monitor(sources_file, db, [mail.alert_url()])

    run_once()
    assert len(mail.messages) == 4  # the two seed stories, the Arabic and the Persian; not the Europe story

    feed, page = site.routes["/daily/atom.xml"], site.routes[EUROPE_PATH]
    head, *entries = feed.body.split(b"<entry>")
    (europe,) = [i for i, entry in enumerate(entries) if b"europe-mixed-messaging" in entry]
    entries[europe] = entries[europe].replace(b"<updated>2024-04-19T11:00:00Z</updated>",
                                              b"<updated>2024-04-20T09:00:00Z</updated>")
    site.routes["/daily/atom.xml"] = Response(b"<entry>".join([head, *entries]), feed.content_type)
    update = (b"<p>Update: US and Iranian negotiators met in Muscat on Saturday for indirect talks, "
              b"Oman's foreign ministry said. The American and Iranian delegations agreed to meet again "
              b"next week.</p>")
    site.routes[EUROPE_PATH] = Response(page.body.replace(b'<div class="entry-content">',
                                                          b'<div class="entry-content">' + update, 1))

    second = run_once()
    assert (second.fetched, second.revised, second.new) == (1, 1, 0)
    assert len(mail.messages) == 5 and "Europe" in mail.messages[-1]["subject"]
    third = run_once()
    assert (third.fetched, third.alerts_sent) == (0, 0)
    with Store(db) as store:
        (revision,) = store.db.query("select text from article_revisions")
    assert "negotiators met in Muscat" not in revision["text"]  # the earlier text, kept


def test_an_update_announced_for_an_unchanged_page_costs_one_304(tmp_path, site, mail, sources_file):
    db = tmp_path / "news.db"
    run_monitor(sources_file, db, [mail.alert_url()])
    feed = site.routes["/daily/atom.xml"]
    head, *entries = feed.body.split(b"<entry>")
    (europe,) = [i for i, entry in enumerate(entries) if b"europe-mixed-messaging" in entry]
    entries[europe] = entries[europe].replace(b"<updated>2024-04-19T11:00:00Z</updated>",
                                              b"<updated>2024-04-20T09:00:00Z</updated>")
    site.routes["/daily/atom.xml"] = Response(b"<entry>".join([head, *entries]), feed.content_type)
    before = len(site.requests)

    again = run_monitor(sources_file, db, [mail.alert_url()])

    (page_request,) = [r for r in site.requests[before:] if r.path == EUROPE_PATH]
    assert page_request.headers.get("If-None-Match")
    assert (again.fetched, again.revised, again.failures) == (0, 0, [])


@pytest.mark.parametrize("change", [(b"mixed messaging on restraint</title>", b"mixed messaging, updated</title>"),
                                    (b"<id>", b"<id>v2-")])
def test_an_entry_whose_title_or_guid_changes_with_its_date_kept_is_fetched_again(tmp_path, site, sources_file,
                                                                                 change):
    db = tmp_path / "news.db"
    run_monitor(sources_file, db)
    unchanged_before = len(site.requests)
    run_monitor(sources_file, db)
    assert EUROPE_PATH not in [r.path for r in site.requests[unchanged_before:]]  # nothing said: not fetched

    feed = site.routes["/daily/atom.xml"]
    head, *entries = feed.body.split(b"<entry>")
    (europe,) = [i for i, entry in enumerate(entries) if b"europe-mixed-messaging" in entry]
    assert change[0] in entries[europe]
    entries[europe] = entries[europe].replace(*change)  # the <updated> date stays
    site.routes["/daily/atom.xml"] = Response(b"<entry>".join([head, *entries]), feed.content_type)
    before = len(site.requests)
    run_monitor(sources_file, db)
    assert [r.path for r in site.requests[before:]].count(EUROPE_PATH) == 1
    after = len(site.requests)
    run_monitor(sources_file, db)
    assert EUROPE_PATH not in [r.path for r in site.requests[after:]]  # recorded: once


def test_a_line_the_site_repeated_on_stored_stories_is_left_out_of_new_ones(tmp_path, mail):
    from datetime import date

    from helpers import SIGN_OFF, archive_routes, make_archive, sources_toml

    db = tmp_path / "news.db"
    with LoopbackSite() as site:
        (tmp_path / "sources.toml").write_text(sources_toml(site.base_url))
        site.routes.update(archive_routes(site.base_url, make_archive(date(2024, 1, 1), 4), sign_off=True))
        first = run(tmp_path / "sources.toml", db, mail)
        site.routes.update(archive_routes(site.base_url, make_archive(date(2024, 1, 1), 6), sign_off=True))
        second = run(tmp_path / "sources.toml", db, mail)
    assert (first.new, second.new) == (4, 2)
    texts = {url: row["text"] for url, row in stored_texts(db).items()}
    later = [site.url(f"/news/2024-01-0{day}/story-{day - 1}.html") for day in (5, 6)]
    assert sum(SIGN_OFF in text for text in texts.values()) == 4
    assert all(SIGN_OFF not in texts[url] and len(texts[url].split("\n")) >= 5 for url in later)


def test_a_full_disk_stops_the_run_and_the_next_run_stores_the_rest_alerting_once(tmp_path, site, mail,
                                                                                    sources_file):
    import sqlite3

    from pydantic import SecretStr

    from pipeline import load_settings, monitor_once, prepare_run

    db = tmp_path / "news.db"
    settings = load_settings(sources_file=sources_file, db_path=db, alert_urls=[SecretStr(mail.alert_url())])
    with Store(db) as store:
        (pages,) = store.db.execute("pragma page_count").fetchone()
        store.db.execute(f"pragma max_page_count = {pages + 3}")  # SQLite's own "database or disk is full"
        with pytest.raises(sqlite3.OperationalError, match="full"):
            monitor_once(prepare_run(settings), store)
        stored_before = store.db["articles"].count
    assert 0 < stored_before < 6, stored_before  # stopped halfway

    summary = run(sources_file, db, mail)
    assert summary.new == 6 - stored_before and summary.failures == []
    assert len(stored_texts(db)) == 6
    assert len(mail.messages) == 4  # each flagged story alerted once, over the two runs


def test_a_run_where_every_source_failed_says_so(tmp_path, site, mail, sources_file):
    for feed in ("/review/feed.xml", "/daily/atom.xml", "/alwaha/rss.xml", "/payam/feed.xml"):
        site.routes[feed] = Response(b"oops", "text/plain", status=404)
    summary = run(sources_file, tmp_path / "news.db", mail)
    assert sorted(summary.failed_sources) == ["Al-Waha Today (Arabic)", "Global Wire Daily", "Payam-e Emrooz (Persian)",
                                              "The Statecraft Review"]
    assert summary.sources == 4


def test_a_source_whose_collecting_crashes_fails_alone_and_is_retried(tmp_path, site, mail, sources_file,
                                                                     monkeypatch):
    import pipeline._steps

    fetch = pipeline._steps.fetch_pages

    def crash_on_review(urls, *args, **kwargs):
        urls = list(urls)
        if any("/review/" in url for url in urls):
            raise RuntimeError("extractor bug")
        return fetch(urls, *args, **kwargs)

    monkeypatch.setattr(pipeline._steps, "fetch_pages", crash_on_review)
    db = tmp_path / "news.db"
    first = run(sources_file, db, mail)
    assert first.new == 4 and first.failed_sources == ["The Statecraft Review"]
    assert all(reason == "collecting the source crashed: RuntimeError: extractor bug" for _, reason in first.failures)
    with Store(db) as store:
        health = {row["source"]: row["consecutive_failures"] for row in store.source_health()}
    assert health == {"Al-Waha Today (Arabic)": 0, "Global Wire Daily": 0, "Payam-e Emrooz (Persian)": 0,
                      "The Statecraft Review": 1}

    monkeypatch.setattr(pipeline._steps, "fetch_pages", fetch)
    assert run(sources_file, db, mail).new == 2  # the crashed source's pages, retried
    assert len(stored_texts(db)) == 6
