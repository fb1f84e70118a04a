"""Full-text search and the filters of listings: ranking, filters, and the index kept in step with
the articles through inserts, revisions and a migration of an older store."""

from datetime import date

import pytest
import sqlite_utils

from detectors import Detection
from extractors import Article
from storage import Filters, SearchError, Store

TALKS = Detection("us-iran-talks", True, 0.9, ["US and Iran met."], "held or ongoing")
STALLED = Detection("us-iran-talks", True, 0.8, ["Talks stalled."], "stalled or postponed")
NOTHING = Detection("us-iran-talks", False, 0.0)


def article(n: int, title: str, text: str, *, published: str | None = None, language: str = "en") -> Article:
    return Article(url=f"https://news.example/{n}", canonical_url=f"https://news.example/{n}", title=title,
                   text=text, published=published, language=language)


def filler(n: int) -> str:
    """Text of its own per article (so that none joins another's story), mentioning nothing searched."""
    return " ".join(f"Paragraph {n} word{n * 7 + i} of local council budget news." for i in range(3))


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "news.db") as opened:
        yield opened


def titles(rows) -> list[str]:
    return [row["title"] for row in rows]


def test_a_headline_match_ranks_above_a_passing_mention(store):
    store.save_article(article(1, "Budget vote", f"{filler(1)} Oman was mentioned once."), NOTHING, source="A")
    store.save_article(article(2, "Oman hosts envoys", f"{filler(2)} Envoys arrived in Oman."), NOTHING, source="A")
    store.save_article(article(3, "Harbour works", filler(3)), NOTHING, source="A")
    assert titles(store.search("oman")) == ["Oman hosts envoys", "Budget vote"]
    best = store.search("oman")[0]
    assert "**Oman**" in best["snippet"] and best["relevance"] > store.search("oman")[1]["relevance"]


def test_query_syntax_phrases_boolean_and_prefix(store):
    store.save_article(article(1, "Envoys meet", f"{filler(1)} Nuclear talks resumed in Muscat."), NOTHING, source="A")
    store.save_article(article(2, "Talks about trade", f"{filler(2)} Nuclear energy and trade talks."), NOTHING,
                       source="A")
    assert titles(store.search('"nuclear talks"')) == ["Envoys meet"]
    assert titles(store.search("nuclear NOT trade")) == ["Envoys meet"]
    assert set(titles(store.search("muscat OR trade"))) == {"Envoys meet", "Talks about trade"}
    assert titles(store.search("musc*")) == ["Envoys meet"]
    assert set(titles(store.search("talk*"))) == {"Envoys meet", "Talks about trade"}
    assert titles(store.search("talk")) == [] and titles(store.search("négociations")) == []
    store.save_article(article(3, "Négociations à Oman", f"{filler(3)} Les négociations reprennent."), NOTHING,
                       source="A")
    assert titles(store.search("negociations")) == ["Négociations à Oman"]  # diacritics aside


@pytest.mark.parametrize("query", ['"unclosed', "US-Iran", "AND talks", "nosuchcolumn:talks"])
def test_a_query_fts5_cannot_read_is_one_clear_error(store, query):
    with pytest.raises(SearchError, match="cannot read the search") as caught:
        store.search(query)
    assert "\n" not in str(caught.value)


def test_search_filters(store):
    store.save_article(article(1, "Talks in Oman", filler(1), published="2026-03-01"), TALKS, source="A")
    store.save_article(article(2, "Oman budget", filler(2), published="2026-03-05"), NOTHING, source="B")
    store.save_article(article(3, "گفتگو در عمان Oman", filler(3), published="2026-03-09", language="fa"),
                       STALLED, source="C")
    found = {name: titles(store.search("oman", filters)) for name, filters in {
        "flagged": Filters(flagged=True), "source": Filters(sources=("B",)), "sources": Filters(sources=("A", "C")),
        "since": Filters(since=date(2026, 3, 5)), "until": Filters(until=date(2026, 3, 5)),
        "day": Filters(since=date(2026, 3, 5), until=date(2026, 3, 5)), "language": Filters(language="fa"),
        "topic": Filters(topic="us-iran-talks"), "state": Filters(topic="us-iran-talks", state="held or ongoing"),
        "other topic": Filters(topic="us-venezuela-talks"),
    }.items()}
    assert {name: sorted(t) for name, t in found.items()} == {
        "flagged": ["Talks in Oman", "گفتگو در عمان Oman"], "source": ["Oman budget"],
        "sources": ["Talks in Oman", "گفتگو در عمان Oman"], "since": ["Oman budget", "گفتگو در عمان Oman"],
        "until": ["Oman budget", "Talks in Oman"], "day": ["Oman budget"], "language": ["گفتگو در عمان Oman"],
        "topic": ["Talks in Oman", "گفتگو در عمان Oman"], "state": ["Talks in Oman"], "other topic": [],
    }
    assert len(store.search("oman", limit=2)) == 2


def test_the_index_follows_a_revision_and_any_update_of_text(store):
    store.save_article(article(1, "Envoys meet", f"{filler(1)} They met in Geneva."), TALKS, source="A")
    assert titles(store.search("geneva")) == ["Envoys meet"]
    saved = store.save_article(article(1, "Envoys meet again", f"{filler(1)} They met in Vienna."), TALKS, source="A")
    assert saved.status == "revised"
    assert store.search("geneva") == [] and titles(store.search("vienna")) == ["Envoys meet again"]
    store.db.execute("update articles set text = 'Moved to Doha.' where id = ?", [saved.article_id])
    assert store.search("vienna") == [] and titles(store.search("doha")) == ["Envoys meet again"]
    store.db.execute("delete from article_topics")
    store.db.execute("delete from story_states")
    store.db.execute("delete from story_topics")
    store.db.execute("delete from alerts")
    store.db.execute("delete from article_revisions")
    store.db.execute("delete from minhash")
    store.db.execute("delete from articles")
    assert store.search("doha") == []
    assert store.db.execute("insert into articles_fts (articles_fts) values ('integrity-check')") is not None


def test_an_older_store_is_indexed_by_its_migration(tmp_path):
    from storage._schema import MIGRATIONS

    path = tmp_path / "old.db"
    old = sqlite_utils.Database(path)
    old["schema_migrations"].create({"version": int, "name": str, "applied_at": str}, pk="version")
    for version, name, apply in MIGRATIONS[:-1]:
        apply(old)
        old["schema_migrations"].insert({"version": version, "name": name, "applied_at": "before"})
    old["stories"].insert({"id": 1, "first_url": "https://a.example/1", "first_seen": "before", "flagged": 0})
    old["articles"].insert({"url": "https://a.example/1", "title": "Envoys meet", "text": "They met in Salalah.",
                            "text_hash": "h", "source": "A", "story_id": 1, "flagged": 0, "fetched_at": "2026-01-02"})
    old.close()
    with Store(path) as store:
        assert titles(store.search("salalah")) == ["Envoys meet"]
        store.save_article(article(2, "Later", f"{filler(2)} Salalah again."), NOTHING, source="A")
        assert titles(store.search("salalah")) == ["Envoys meet", "Later"]
        store.db.execute("insert into articles_fts (articles_fts) values ('integrity-check')")


def test_listings_take_the_same_filters_and_limit_keeps_the_most_recent(store):
    for n in range(1, 6):
        store.save_article(article(n, f"Story {n}", filler(n), published=f"2026-03-0{n}"),
                           TALKS if n % 2 else NOTHING, source="A" if n < 4 else "B")
    assert titles(store.articles(limit=2)) == ["Story 4", "Story 5"]
    assert titles(store.articles(Filters(flagged=True))) == ["Story 1", "Story 3", "Story 5"]
    assert titles(store.articles(Filters(since=date(2026, 3, 2), until=date(2026, 3, 3)))) == ["Story 2", "Story 3"]
    assert titles(store.articles(Filters(sources=("B",)))) == ["Story 4", "Story 5"]
    assert "text" not in next(store.articles()) and next(store.articles(text=True))["text"] == filler(1)
    assert titles(store.stories(Filters(flagged=True, sources=("A",)))) == ["Story 1", "Story 3"]
    assert titles(store.stories(Filters(state="held or ongoing"), limit=1)) == ["Story 5"]
    assert titles(store.stories(Filters(topic="us-iran-talks", since=date(2026, 3, 4)))) == ["Story 5"]
    assert titles(store.stories(Filters(state="agreed"))) == []
    (story,) = store.stories(Filters(until=date(2026, 3, 1)))
    assert story["day"] == "2026-03-01" and story["topics"][0]["history"][0]["source"] == "A"


# The commands, over a store filled through the Python API.

@pytest.fixture
def filled(tmp_path):
    path = tmp_path / "news.db"
    with Store(path) as store:
        store.save_article(article(1, "Envoys meet, Oman says", f"{filler(1)} Envoys met in Oman.",
                                   published="2026-03-01"), TALKS, source="Gulf, Wire")
        store.save_article(article(2, 'Budget "vote" delayed', f"{filler(2)} Oman trade\nnews.",
                                   published="2026-03-02"), NOTHING, source="Daily")
        store.save_article(article(3, "Talks stall", f"{filler(3)} Talks stalled in Oman.", published="2026-03-03"),
                           STALLED, source="Daily")
    return path


def invoke(*args):
    from typer.testing import CliRunner

    from newswatch.cli import app

    return CliRunner().invoke(app, [*args], env={"COLUMNS": "200"})


def json_lines(output: str) -> list[dict]:
    import json

    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_search_command_ranks_filters_and_marks_the_match(filled):
    result = invoke("search", "oman", "--db", str(filled), "--json")
    assert result.exit_code == 0, result.output
    rows = json_lines(result.stdout)
    assert rows[0]["title"] == "Envoys meet, Oman says" and "**Oman**" in rows[0]["snippet"]
    assert len(rows) == 3 and rows[0]["relevance"] >= rows[1]["relevance"] >= rows[2]["relevance"]
    flagged = json_lines(invoke("search", "oman", "--db", str(filled), "--json", "--flagged", "--since",
                                "2026-03-02").stdout)
    assert [r["title"] for r in flagged] == ["Talks stall"]
    shown = invoke("search", "oman", "--db", str(filled), "--source", "Daily", "--limit", "1")
    assert shown.exit_code == 0 and "1. " in shown.stdout and "2. " not in shown.stdout
    assert "http://" not in shown.stdout and "https://news.example/" in shown.stdout


@pytest.mark.parametrize("args, message", [
    (["search", "US-Iran"], "cannot read the search 'US-Iran'"),
    (["search", "oman", "--topic", "us-iran"], "--topic us-iran: the store holds none; it holds us-iran-talks"),
    (["articles", "--state", "helt"], "--state helt: the store holds none"),
    (["stories", "--source", "Gulf Wire"], "--source Gulf Wire: the store holds none; it holds Daily, Gulf, Wire"),
    (["articles", "--lang", "xx"], "--lang xx: the store holds none; it holds en"),
    (["articles", "--since", "2026-03-05", "--until", "2026-03-01"], "--since 2026-03-05 is after --until 2026-03-01"),
    (["articles", "--json", "--csv"], "--json and --csv are alternatives"),
])
def test_bad_arguments_are_one_line_of_error(filled, args, message):
    result = invoke(*args, "--db", str(filled))
    assert result.exit_code == 1 and message in result.output and len(result.output.strip().splitlines()) == 1


def test_articles_and_stories_export_valid_csv(filled):
    import csv
    import io

    result = invoke("articles", "--db", str(filled), "--csv", "--text")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["title"] for r in rows] == ["Envoys meet, Oman says", 'Budget "vote" delayed', "Talks stall"]
    assert rows[0]["source"] == "Gulf, Wire" and rows[0]["flagged"] == "true" and rows[1]["flagged"] == "false"
    assert rows[1]["text"].endswith("Oman trade\nnews.") and rows[0]["url"] == "https://news.example/1"
    assert rows[0]["evidence"] == '["US and Iran met."]' and rows[0]["published"] == "2026-03-01"
    stories = list(csv.DictReader(io.StringIO(invoke("stories", "--db", str(filled), "--csv", "--flagged").stdout)))
    assert [(s["title"], s["day"], s["topics"]) for s in stories] == [
        ("Envoys meet, Oman says", "2026-03-01", "us-iran-talks: held or ongoing"),
        ("Talks stall", "2026-03-03", "us-iran-talks: stalled or postponed")]


def test_articles_json_text_limit_and_columns(filled):
    rows = json_lines(invoke("articles", "--db", str(filled), "--json", "--limit", "2", "--text").stdout)
    assert [r["title"] for r in rows] == ['Budget "vote" delayed', "Talks stall"] and rows[0]["text"].startswith("Par")
    assert "text" not in json_lines(invoke("articles", "--db", str(filled), "--json").stdout)[0]
    table = invoke("articles", "--db", str(filled), "--limit", "1")
    assert "2026-03-03" in table.stdout and "https://news.example/3" in table.stdout and "2026-03-01" not in table.stdout
    assert "the 1 most recent shown" in table.stderr
    stories = invoke("stories", "--db", str(filled), "--state", "stalled or postponed")
    assert "Talks stall" in stories.stdout and "Envoys meet" not in stories.stdout


def test_only_the_most_recent_matches_are_ranked_past_the_window(filled, monkeypatch):
    import storage._reading

    monkeypatch.setattr(storage._reading, "RANKED_MATCHES", 2)
    with Store(filled) as store:
        found = store.search("oman")
        assert found.ranked == 2 and titles(found) == ["Talks stall", 'Budget "vote" delayed']  # the first is older
        assert store.search("envoys").ranked is None
    result = invoke("search", "oman", "--db", str(filled))
    assert result.exit_code == 0 and "more than 2 articles match" in result.stderr


def test_a_table_on_a_terminal_shows_the_latest_fifty_unless_told(monkeypatch, capsys):
    import io

    from newswatch.cli import DEFAULT_TERMINAL_LIMIT, Output, _limited

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    rows = [{"id": n} for n in range(1, 121)]
    fetch = lambda limit: rows[-limit:] if limit else rows  # noqa: E731 (the store's: the latest `limit`)
    monkeypatch.setattr("sys.stdout", Terminal())
    shown = _limited(fetch, None, Output.table)
    assert len(shown) == DEFAULT_TERMINAL_LIMIT == 50 and shown[-1]["id"] == 120 and shown[0]["id"] == 71
    assert len(_limited(fetch, 0, Output.table)) == 120 and len(_limited(fetch, None, Output.csv)) == 120
    monkeypatch.setattr("sys.stdout", io.StringIO())  # piped: everything
    assert len(_limited(fetch, None, Output.table)) == 120


def test_persian_yeh_and_kaf_match_whichever_keyboard_typed_them(store):
    # Article 1 and the first query use Persian's ی and ک; article 2 and the second query Arabic's ي and ك.
    store.save_article(article(1, "مذاکره در رم", f"{filler(1)} نمایندگان ایران و آمریکا در رم دیدار کردند.",
                               language="fa"), NOTHING, source="A")
    store.save_article(article(2, "خبر", f"{filler(2)} سفير ايران در مسكو.", language="fa"), NOTHING, source="B")
    assert titles(store.search("آمریکا")) == ["مذاکره در رم"]
    assert titles(store.search("آمريكا")) == ["مذاکره در رم"]  # typed on an Arabic keyboard
    assert set(titles(store.search("ایران"))) == set(titles(store.search("ايران"))) == {"مذاکره در رم", "خبر"}
    assert titles(store.search('"سفیر ایران" NOT رم')) == ["خبر"]
    assert "**آمریکا**" in store.search("آمريكا")[0]["snippet"]  # marked as written
