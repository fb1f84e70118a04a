"""The Atom feed and the HTML report, read back as feed readers and browsers read them: feedparser,
the feed served over HTTP, and the report rendered by headless Chromium."""

import os
import shutil
import subprocess
import threading

import feedparser
import httpx
import pytest
from typer.testing import CliRunner

from detectors import Detection
from extractors import Article
from newswatch.cli import _feed_document, app
from newswatch.feed_server import feed_server
from storage import Store

runner = CliRunner()


def flagged(state: str, sentence: str) -> Detection:
    return Detection("us-iran-talks", True, 0.9, [sentence], state, label="US–Iran talks", state_sentence=sentence)


def article(n: int, title: str, published: str, *, canonical: str | None = None, text: str | None = None) -> Article:
    return Article(url=f"https://news{n}.example/story", canonical_url=canonical or f"https://news{n}.example/story",
                   title=title, published=published,
                   text=text or f"Story number {n} about its own matter, told at length: " + "words " * 40 + str(n))


@pytest.fixture
def db(tmp_path):
    """Three stories: one scheduled then held (a second outlet's copy moved it), one rejected, one unflagged."""
    path = tmp_path / "news.db"
    with Store(path) as store:
        store.save_article(article(1, "Envoys to meet in Muscat", "2026-03-01"),
                           flagged("scheduled", "Envoys will meet in Muscat on Saturday."), source="Gulf Wire")
        store.save_article(article(2, "Iran rejects a meeting", "2026-03-03"),
                           flagged("rejected or denied", "Iran rejected the offer of <direct> talks."), source="Daily")
        store.save_article(article(3, "Envoys met in Muscat", "2026-03-04", canonical="https://news1.example/story"),
                           flagged("held or ongoing", "The envoys met in Muscat for three hours."), source="Daily")
        store.save_article(article(4, "Council budget", "2026-03-04"), Detection("us-iran-talks", False, 0.0),
                           source="Daily")
        store.record_source_run("Daily", error=None, dark_after=3)
        for _ in range(3):
            store.record_source_run("Gulf Wire", error="HTTP 503", dark_after=3)
    return path


def test_the_feed_is_valid_atom_with_an_entry_per_state_change(db):
    result = runner.invoke(app, ["feed", "--db", str(db)])
    assert result.exit_code == 0, result.output
    feed = feedparser.parse(result.stdout_bytes)
    assert not feed.bozo and feed.version == "atom10"
    assert [e.title for e in feed.entries] == [
        "[US–Iran talks · held or ongoing] Envoys to meet in Muscat",
        "[US–Iran talks · rejected or denied] Iran rejects a meeting",
        "[US–Iran talks · scheduled] Envoys to meet in Muscat"]
    newest = feed.entries[0]
    assert newest.link == "https://news3.example/story" and newest.author == "Daily"
    assert "scheduled → held or ongoing" in newest.summary and "three hours" in newest.summary
    assert "&lt;direct&gt;" in feed.entries[1].summary  # article text is escaped, not markup
    assert len({e.id for e in feed.entries}) == 3 and newest.published.startswith("2026-03-04")
    one = feedparser.parse(runner.invoke(app, ["feed", "--db", str(db), "--limit", "1"]).stdout_bytes)
    assert [e.link for e in one.entries] == ["https://news3.example/story"]


def test_a_feed_of_an_unknown_topic_is_one_line_of_error(db):
    result = runner.invoke(app, ["feed", "--db", str(db), "--topic", "us-iran"], env={"COLUMNS": "300"})
    assert result.exit_code == 1 and result.output.count("\n") == 1
    assert "--topic us-iran: no such topic; known:" in result.output and "us-iran-talks" in result.output


def test_the_feed_served_over_http_is_made_at_each_request(db):
    server = feed_server(lambda topic, url: _feed_document(db, topic, 50, url), port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        first = httpx.get(f"{base}/feed.xml")
        assert first.status_code == 200 and first.headers["content-type"].startswith("application/atom+xml")
        feed = feedparser.parse(first.content)
        assert len(feed.entries) == 3 and feed.feed.links[0].href == f"{base}/feed.xml"
        with Store(db) as store:
            store.save_article(article(5, "Talks postponed", "2026-03-05", canonical="https://news2.example/story"),
                               flagged("stalled or postponed", "The talks were postponed."), source="Daily")
        assert len(feedparser.parse(httpx.get(f"{base}/feed.xml").content).entries) == 4
        assert httpx.get(f"{base}/feed.xml?topic=nope").status_code == 404
        assert len(feedparser.parse(httpx.get(f"{base}/feed.xml?topic=us-iran-talks").content).entries) == 4
        assert httpx.get(f"{base}/other").status_code == 404
    finally:
        server.shutdown()
        server.server_close()


def report(db, tmp_path, *args) -> str:
    out = tmp_path / "report.html"
    result = runner.invoke(app, ["report", "--db", str(db), "-o", str(out), *args], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


def test_the_report_holds_the_chart_the_timelines_and_the_sources(db, tmp_path):
    page = report(db, tmp_path, "--since", "2026-03-01", "--until", "2026-03-07")
    chart = page[page.index('<figure id="chart">'):page.index("</figure>")]
    assert "<svg" in chart and ">scheduled<" in chart and ">held or ongoing<" in chart and ">stories<" in chart
    assert "Envoys to meet in Muscat" in page and "Iran rejects a meeting" in page and "Council budget" not in page
    assert "“The envoys met in Muscat for three hours.”" in page and "Iran rejected the offer of &lt;direct&gt;" in page
    assert 'href="https://news3.example/story">Daily</a>' in page  # the outlets that carried the story
    assert 'class="dark" title="dark since' in page and "HTTP 503" in page  # Gulf Wire failed 3 runs in a row
    # Self-contained: nothing to fetch (no script, stylesheet, image or font from elsewhere).
    assert not any(fetch in page for fetch in ("<script", "<link", " src=", "url(http", "@import"))


def test_the_report_keeps_to_its_period_and_topic(db, tmp_path):
    page = report(db, tmp_path, "--since", "2026-03-04", "--until", "2026-03-04")
    assert "Envoys to meet in Muscat" in page and "Iran rejects a meeting" not in page
    empty = report(db, tmp_path, "--since", "2025-01-01", "--until", "2025-01-31")
    assert "No flagged story changed state in this period." in empty and "no state changes in this period" in empty
    longer = report(db, tmp_path, "--since", "2024-01-01", "--until", "2026-03-31")
    assert "Stories per week" in longer
    bad = runner.invoke(app, ["report", "--db", str(db), "--since", "2026-03-05", "--until", "2026-03-01"])
    assert bad.exit_code == 1 and "--since 2026-03-05 is after --until 2026-03-01" in bad.output


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# CI installs Debian's chromium and sets this: there, a missing browser fails instead of skipping.
browser_required = os.environ.get("NEWSWATCH_REQUIRE_BROWSER") == "1"


def chromium(*args, user_data) -> subprocess.CompletedProcess:
    # The flags keep a headless Chromium off the network this machine does not have.
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                           "--disable-background-networking", "--disable-component-update", "--disable-sync",
                           f"--user-data-dir={user_data}", *args], capture_output=True, timeout=120)


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM and not browser_required, reason="needs Debian's chromium (apt install chromium)")
def test_the_report_renders_in_a_real_browser(db, tmp_path):
    assert CHROMIUM, "NEWSWATCH_REQUIRE_BROWSER=1 and no chromium on PATH"
    report(db, tmp_path, "--since", "2026-03-01", "--until", "2026-03-07")
    url = (tmp_path / "report.html").as_uri()
    dom = chromium("--dump-dom", url, user_data=tmp_path / "profile").stdout.decode()
    # What the browser built from the file: the chart as an SVG element with its legend, and the stories.
    assert '<figure id="chart"><svg' in dom and ">held or ongoing<" in dom
    assert '<b id="story-count">2</b>' in dom and "Iran rejects a meeting" in dom
    shot = tmp_path / "report.png"
    chromium("--hide-scrollbars", "--window-size=1000,1400", f"--screenshot={shot}", url,
             user_data=tmp_path / "profile")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


@pytest.mark.parametrize("days, attached", [(None, False), ("7", True)])
def test_a_digest_carries_the_report_when_the_settings_ask(db, mail, monkeypatch, days, attached):
    from alerts import channel_for
    from pipeline import deliver, load_settings, prepare_run

    url = mail.alert_url()
    if days:
        monkeypatch.setenv("NEWSWATCH_DIGEST_REPORT_DAYS", days)
    run = prepare_run(load_settings(db_path=db, alert_urls=[url]), alert_mode="digest", reads_sources=False)
    with Store(db) as store:  # two stories of today, alerted to this channel
        for n in (6, 7):
            store.save_article(article(n, f"Round {n} of talks", None), flagged("held or ongoing", f"They met, {n}."),
                               source="Daily", channels=[channel_for(url)])
        assert deliver(store, run).sent == 2
    (message,) = mail.messages
    files = [part for part in message.iter_attachments() if part.get_filename()]
    if not attached:
        assert files == []
        return
    (report_file,) = files
    page = report_file.get_content()
    page = page.decode() if isinstance(page, bytes) else page
    assert report_file.get_filename().startswith("newswatch-report-") and "<svg" in page
    assert "Round 6 of talks" in page and "Round 7 of talks" in page  # today's stories are in its period
    assert "Envoys to meet in Muscat" not in page  # March's are not


def test_datasette_runs_every_canned_query_on_a_store(db):
    """The metadata `newswatch browse` gives Datasette, through Datasette itself (its Python API)."""
    import asyncio

    from datasette.app import Datasette

    from newswatch.browse import datasette_metadata

    metadata = datasette_metadata(db)
    queries = metadata["databases"]["news"]["queries"]
    assert set(queries) == {"flagged_stories", "state_changes", "alerts", "source_health", "search"}

    async def rows(path: str) -> list[dict]:
        response = await Datasette([str(db)], metadata=metadata).client.get(path)
        assert response.status_code == 200, response.text
        return response.json()

    async def run_all() -> dict:
        return {name: await rows(f"/news/{name}.json?_shape=array&status=&query=muscat") for name in queries}

    found = asyncio.run(run_all())
    assert [(r["title"], r["state"]) for r in found["flagged_stories"]] == [
        ("Envoys to meet in Muscat", "held or ongoing"), ("Iran rejects a meeting", "rejected or denied")]
    assert [r["state"] for r in found["state_changes"]] == ["held or ongoing", "rejected or denied", "scheduled"]
    assert found["source_health"][0]["source"] == "Gulf Wire" and found["source_health"][0]["consecutive_failures"] == 3
    assert {r["title"] for r in found["search"]} == {"Envoys to meet in Muscat", "Envoys met in Muscat"}
    assert found["alerts"] == []  # no channel was configured
    assert asyncio.run(rows("/news/articles.json?_search=rejects&_shape=array"))[0]["title"] == "Iran rejects a meeting"
