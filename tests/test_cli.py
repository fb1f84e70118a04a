"""The console script, through its options; results checked through the Python API where they are stored."""

import gzip
import json
import os
import shlex
import subprocess
import sys

import pytest
from typer.testing import CliRunner

import seeds

from helpers import CHROME, EUROPE_PATH, REJECTED_PATH, TOKYO_PATH, seed_page, seed_paragraphs
from newswatch.loopback import Response
from newswatch.cli import app
from storage import Filters, Store

runner = CliRunner()
EXTRACT_KEYS = {"file", "url", "title", "text", "author", "published", "language"}
ARTICLE_KEYS = {"url", "canonical_url", "title", "published", "source", "story_id", "flagged", "score"}


def json_lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_extract_prints_the_json_contract(tmp_path, gz_page):
    plain = tmp_path / "tokyo.html"
    plain.write_bytes(seed_page(TOKYO_PATH))
    packed = gz_page(seed_page(REJECTED_PATH), "rejected.html.gz")
    result = runner.invoke(app, ["extract", "--url", "https://example.org/a", str(plain), str(packed)])
    assert result.exit_code == 0, result.output
    tokyo, rejected = json_lines(result.stdout)
    assert EXTRACT_KEYS <= set(tokyo) and EXTRACT_KEYS <= set(rejected)
    assert tokyo["file"] == str(plain) and tokyo["url"] == "https://example.org/a"
    assert rejected["title"] == seed_paragraphs("000_2fbd25fc408c1193.txt")[0]
    for chrome in CHROME:
        assert chrome not in tokyo["text"]


def test_extract_reports_bad_files_and_goes_on(tmp_path):
    good = tmp_path / "good.html"
    good.write_bytes(seed_page(EUROPE_PATH))
    binary = tmp_path / "photo.html"
    binary.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)))
    result = runner.invoke(app, ["extract", str(binary), str(good)])
    assert result.exit_code == 1
    failed, extracted = json_lines(result.stdout)
    assert failed == {"file": str(binary), "error": "binary content, not HTML"}
    assert extracted["title"] == "Europe's hopelessly murky, mixed messaging on restraint"
    assert "photo.html" in result.stderr


def test_classify_flags_seed_texts_and_not_teasers():
    rejected = seed_paragraphs("000_2fbd25fc408c1193.txt")
    lines = [
        {"id": "seed-000", "title": rejected[0], "text": "\n\n".join(rejected[1:])},
        {"id": "teaser-europe", "title": "Europe's hopelessly murky, mixed messaging on restraint",
         "text": "The EU has condemned Iran’s April 14 drone and missile attack against Israel. Even though the EU "
                 "is united in its calls for restraint, divisions limit the diplomatic role Europe could play."},
        {"id": "teaser-russia", "title": "Diplomacy Watch: How close were Russia and Ukraine to a deal in 2022?",
         "text": "A detailed timeline of the talks between Russian and Ukrainian negotiators."},
    ]
    result = runner.invoke(app, ["classify", "-"], input="\n".join(json.dumps(line) for line in lines))
    assert result.exit_code == 0, result.output
    out = {row["id"]: row for row in json_lines(result.stdout)}
    assert out["seed-000"]["flagged"] and out["seed-000"]["state"] == "rejected or denied"
    assert 0 < out["seed-000"]["score"] <= 1 and out["seed-000"]["evidence"]
    assert not out["teaser-europe"]["flagged"] and not out["teaser-russia"]["flagged"]


def test_classify_prints_every_topic_an_article_reports(monkeypatch):
    monkeypatch.setenv("NEWSWATCH_TOPICS", str(seeds.EXAMPLE_TOPICS_FILE))
    line = {"id": 1, "title": "A week of diplomacy",
            "text": "The United States and Venezuela agreed to resume negotiations next week. The US envoy met "
                    "Iran's foreign minister in Muscat on Monday. Iranian and American negotiators will meet "
                    "again in Oman next month."}
    (out,) = json_lines(runner.invoke(app, ["classify", "-"], input=json.dumps(line)).stdout)
    assert (out["topic"], out["label"]) == ("us-iran-talks", "US–Iran talks")  # the best
    assert [(t["topic"], t["flagged"], t["state"]) for t in out["topics"]] == [
        ("us-iran-talks", True, "held or ongoing"), ("us-venezuela-talks", True, "scheduled")]


def test_classify_reports_bad_lines_and_goes_on(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text('{"id": 1, "title": "US and Iran hold talks", "text": "Envoys met."}\nnot json\n'
                    '{"id": 2, "text": 5}\n')
    result = runner.invoke(app, ["classify", str(path)])
    assert result.exit_code == 1
    assert [row["id"] for row in json_lines(result.stdout)] == [1]
    assert "line 2" in result.stderr and "line 3" in result.stderr


def test_classify_adds_the_semantic_verdict_on_request():
    line = {"id": "a", "title": "US and Iran hold talks in Oman", "text": "Envoys met on Saturday."}
    result = runner.invoke(app, ["classify", "--semantic", "-"], input=json.dumps(line))
    assert result.exit_code == 0, result.output
    (row,) = json_lines(result.stdout)
    assert row["flagged"] and row["semantic"]["flagged"] and row["semantic"]["topic"] == row["topic"]
    assert row["semantic"]["sentence"] == line["title"] and row["semantic"]["score"] > 0


def test_articles_without_a_store_is_a_clear_error(tmp_path):
    result = runner.invoke(app, ["articles", "--db", str(tmp_path / "none.db"), "--json"])
    assert result.exit_code == 1
    assert "no store at" in result.stderr


@pytest.mark.usefixtures("prefect_api")
def test_run_then_articles(tmp_path, sources_file, mail):
    db = tmp_path / "news.db"
    secret_url = mail.alert_url() + "&user=newswatch&pass=Sup3rSecretPass"
    result = runner.invoke(app, ["run", "--sources", str(sources_file), "--db", str(db), "--alert", secret_url])
    assert result.exit_code == 0, result.output
    assert "Sup3rSecretPass" not in result.output

    listed = runner.invoke(app, ["articles", "--db", str(db), "--json"])
    rows = json_lines(listed.stdout)
    assert len(rows) == 6 and all(ARTICLE_KEYS <= set(row) for row in rows)
    flagged = json_lines(runner.invoke(app, ["articles", "--db", str(db), "--flagged", "--json"]).stdout)
    with Store(db) as store:
        assert [r["url"] for r in flagged] == [r["url"] for r in store.articles(Filters(flagged=True))]
        assert "Sup3rSecretPass" not in json.dumps(store.alerts())
    assert len(flagged) == 4 and all(r["flagged"] for r in flagged)

    # The alert URL reached the flow as a secret: the Prefect API stored it masked.
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        (flow_run,) = [r for r in client.read_flow_runs() if r.parameters.get("db_path") == str(db)]
    assert flow_run.parameters["alert_urls"] == ["**********"]

    stories = json_lines(runner.invoke(app, ["stories", "--db", str(db), "--flagged", "--json"]).stdout)
    assert len(stories) == 4 and all(len(story["urls"]) == 1 and story["outlets"] for story in stories)

    health = json_lines(runner.invoke(app, ["sources", "--db", str(db), "--json"]).stdout)
    assert sorted(row["source"] for row in health) == ["Al-Waha Today (Arabic)", "Global Wire Daily",
                                                        "Payam-e Emrooz (Persian)", "The Statecraft Review"]
    assert all(row["last_success"] and row["consecutive_failures"] == 0 for row in health)


@pytest.mark.usefixtures("prefect_api")
def test_run_names_each_failed_url_once(tmp_path, site, sources_file):
    site.routes["/daily/atom.xml"] = Response(b"gone", status=404)
    site.routes[TOKYO_PATH] = Response(b"gone", status=404)
    result = runner.invoke(app, ["run", "--sources", str(sources_file), "--db", str(tmp_path / "news.db")],
                           env={"COLUMNS": "500"})
    assert result.exit_code == 0, result.output
    failed = [line for line in result.stderr.splitlines() if line.startswith("failed ")]
    assert sorted(failed) == [f"failed {site.url(path)}: HTTP 404 (retried on the next run)"
                              for path in sorted(["/daily/atom.xml", TOKYO_PATH])]


@pytest.mark.usefixtures("prefect_api")
def test_demo_twice_sends_one_round_of_alerts(tmp_path):
    db = tmp_path / "demo.db"
    first = runner.invoke(app, ["demo", "--db", str(db)], env={"COLUMNS": "200"})
    assert first.exit_code == 0, first.output
    assert "4 alert email(s) received" in first.stdout
    assert "[US–Iran talks · rejected or denied] Iran: We Rejected Trump's Push For A Secret Face To Face Meeting" \
        in first.stdout
    assert "evidence:" in first.stdout
    # The commands it suggests next work on its store.
    suggested = [shlex.split(line)[1:] for line in first.stdout.split("Look at what it stored:\n")[1].splitlines()]
    assert [command[0] for command in suggested] == ["search", "stories", "report"]
    for command in suggested:
        command = [str(tmp_path / "report.html") if arg == "demo-report.html" else arg for arg in command]
        assert runner.invoke(app, command, env={"COLUMNS": "200"}).exit_code == 0, command
    assert "Can Rouhani’s Tokyo Trip" in (tmp_path / "report.html").read_text()

    second = runner.invoke(app, ["demo", "--db", str(db)], env={"COLUMNS": "200"})
    assert second.exit_code == 0, second.output
    assert "No alert email this time" in second.stdout
    with Store(db) as store:
        assert [a["status"] for a in store.alerts()] == ["sent"] * 4


@pytest.mark.slow  # a Prefect server of its own, started on an empty PREFECT_HOME: about 40 s
def test_demo_runs_on_a_machine_where_prefect_never_ran(tmp_path):
    """`make demo` on a fresh machine: no Prefect server and an empty PREFECT_HOME, so the temporary
    server the demo starts creates its database first."""
    env = {name: value for name, value in os.environ.items()
           if name not in ("PREFECT_API_URL", "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS")}
    env.update(PREFECT_HOME=str(tmp_path / "prefect-home"), COLUMNS="200")
    demo = subprocess.run([sys.executable, "-m", "newswatch", "demo", "--db", str(tmp_path / "demo.db")],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert demo.returncode == 0, demo.stderr[-3000:]
    assert "4 alert email(s) received" in demo.stdout


def test_demo_serve_is_a_target_for_runs_until_ctrl_c(tmp_path):
    """`demo --serve` serves the site and an SMTP server alone; a run against the sources file it
    writes stores the four articles, and the server prints the two alert emails it receives."""
    import re
    import signal

    from helpers import run_monitor
    from newswatch.loopback import free_port

    serving = subprocess.Popen([sys.executable, "-m", "newswatch", "demo", "--serve", "--port", str(free_port()),
                                "--smtp-port", str(free_port())], cwd=tmp_path, stdout=subprocess.PIPE, text=True)
    try:
        lines = []
        while not lines or "Ctrl-C stops" not in lines[-1]:
            lines.append(serving.stdout.readline())
            assert lines[-1], "the demo servers exited: " + "".join(lines)
        (alert,) = re.findall(r"--alert '([^']+)'", "".join(lines))
        assert "  newswatch run --sources" in "".join(lines)

        summary = run_monitor(tmp_path / "newswatch-demo-sources.toml", tmp_path / "demo.db", [alert])
        assert (summary.new, summary.flagged, summary.alerts_sent) == (6, 4, 4)
    finally:
        serving.send_signal(signal.SIGINT)
    output = serving.communicate(timeout=30)[0]
    assert serving.returncode == 0 and "demo servers stopped" in output
    assert output.count("Subject:") == 4


@pytest.mark.usefixtures("prefect_api")
def test_run_with_alerts_queued_then_digest(tmp_path, sources_file, mail):
    db = tmp_path / "news.db"
    queued = runner.invoke(app, ["run", "--sources", str(sources_file), "--db", str(db), "--alert", mail.alert_url(),
                                 "--alert-mode", "queue"])
    assert queued.exit_code == 0, queued.output
    assert mail.messages == []

    sent = runner.invoke(app, ["digest", "--db", str(db), "--alert", mail.alert_url()])
    assert sent.exit_code == 0, sent.output
    assert "Digest: 4 alert(s) sent, 0 failed" in sent.stderr
    assert [m["subject"] for m in mail.messages] == ["[newswatch] 4 new stories"]

    again = runner.invoke(app, ["digest", "--db", str(db), "--alert", mail.alert_url()])
    assert again.exit_code == 0 and "Digest: 0 alert(s) sent" in again.stderr
    assert len(mail.messages) == 1


@pytest.mark.usefixtures("prefect_api")
def test_alerts_list_retry_and_test(tmp_path, sources_file, mail):
    from newswatch.loopback import free_port

    db = tmp_path / "news.db"
    dead = f"mailto://127.0.0.1:{free_port()}?from=nw@example.org&to=desk@example.org"
    assert runner.invoke(app, ["run", "--sources", str(sources_file), "--db", str(db), "--alert", dead]).exit_code == 0

    listed = json_lines(runner.invoke(app, ["alerts", "list", "--db", str(db), "--json"]).stdout)
    assert [row["status"] for row in listed] == ["failed"] * 4
    assert all(row["last_error"] for row in listed)

    # Another URL is another channel: the dead channel's alerts are not sent there.
    elsewhere = runner.invoke(app, ["alerts", "retry", "--db", str(db), "--alert", mail.alert_url()])
    assert elsewhere.exit_code == 0 and "4 alert(s) belong to channels not configured here" in elsewhere.stderr
    assert mail.messages == []
    again = runner.invoke(app, ["alerts", "retry", "--db", str(db), "--alert", dead])
    assert again.exit_code == 1 and "4 failed again" in again.stderr

    assert runner.invoke(app, ["alerts", "test", mail.alert_url()]).exit_code == 0
    assert mail.messages[-1]["subject"] == "[newswatch] test message"
    failed_test = runner.invoke(app, ["alerts", "test", dead])
    assert failed_test.exit_code == 1 and "error" in failed_test.stderr


def assert_one_line_error(tmp_path, command: list[str], env: dict[str, str], message: str) -> None:
    """``command``, with ``{tmp}`` in its arguments and environment standing for ``tmp_path``, fails
    with exit code 1 and one line on stderr: "error: " and ``message``."""
    fill = {key: value.format(tmp=tmp_path) for key, value in env.items()}
    result = runner.invoke(app, [arg.format(tmp=tmp_path) for arg in command], env=fill, input="")
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("command, env, message", [
    (["run", "--sources", "{tmp}/missing.toml"], {}, "missing.toml: cannot read the sources file"),
    (["run", "--sources", "{tmp}/broken.toml"], {}, "broken.toml: not valid TOML"),
    (["run"], {"NEWSWATCH_TOPICS": "{tmp}/missing.toml"}, "missing.toml: cannot read the topics file"),
    (["run"], {"NEWSWATCH_TIMEOUT": "soon"}, "NEWSWATCH_TIMEOUT must be a number of seconds"),
    (["backfill", "--since", "2024-03-01", "--until", "2024-01-31"], {}, "until (2024-01-31) is before since"),
    (["backfill", "--since", "2024-01-01", "--until", "2024-01-31", "--urls", "{tmp}/missing.txt"], {},
     "missing.txt: cannot read the URL list"),
    (["backfill", "--since", "2024-01-01", "--until", "2024-01-31", "--sources", "{tmp}/missing.toml"], {},
     "missing.toml: cannot read the sources file"),
    (["run", "--db", "{tmp}/notes.db"], {}, "notes.db is not a newswatch store: file is not a database"),
    (["run", "--alert", "nonsense://hook"], {}, "not a valid apprise URL: nonsense://(unreadable URL)"),
    (["backfill", "--since", "2024-01-01", "--until", "2024-01-31"], {"NEWSWATCH_ALERT_URLS": "nonsense://hook"},
     "not a valid apprise URL"),
    (["backfill", "--since", "2024-01-01", "--until", "2024-01-31"], {"NEWSWATCH_DB": "{tmp}/notes.db"},
     "notes.db is not a newswatch store"),
    (["demo", "--db", "{tmp}/notes.db"], {}, "notes.db is not a newswatch store"),
])
def test_a_mistake_in_the_inputs_stops_a_run_before_its_flow(tmp_path, monkeypatch, command, env, message):
    """One line that names the file or setting, exit code 1, and no flow run (nor the temporary
    Prefect server one would start)."""
    import flows
    import newswatch.demo

    def no_flow(**_):
        raise AssertionError("the flow ran")

    monkeypatch.setattr(flows, "monitor", no_flow)
    monkeypatch.setattr(flows, "backfill", no_flow)
    monkeypatch.setattr(newswatch.demo, "demo", no_flow)
    (tmp_path / "broken.toml").write_text("[[sources]\n")
    (tmp_path / "notes.db").write_text("not a database")
    assert_one_line_error(tmp_path, command, env, message)


@pytest.mark.parametrize("command, flow", [
    (["run"], "monitor"),
    (["backfill", "--since", "2024-01-01", "--until", "2024-01-31"], "backfill"),
])
def test_alert_urls_are_not_checked_when_no_alert_is_sent(tmp_path, monkeypatch, command, flow):
    """With --alert-mode none the alert URLs (here a bad one in the environment) are not used, so they
    do not stop the run."""
    import flows
    import pipeline

    calls = []
    monkeypatch.setattr(flows, flow, lambda **kwargs: calls.append(kwargs) or pipeline.RunSummary())
    result = runner.invoke(app, [*command, "--db", str(tmp_path / "news.db"), "--alert-mode", "none"],
                           env={"NEWSWATCH_ALERT_URLS": "nonsense://hook"})
    assert result.exit_code == 0, result.output
    assert [call["alert_mode"] for call in calls] == ["none"]


@pytest.mark.parametrize("command, env, message", [
    (["classify"], {"NEWSWATCH_TOPICS": "{tmp}/missing.toml"}, "missing.toml: cannot read the topics file"),
    (["articles"], {"NEWSWATCH_TIMEOUT": "soon"}, "NEWSWATCH_TIMEOUT must be a number of seconds"),
    (["alerts", "retry"], {"NEWSWATCH_PER_HOST": "0"}, "NEWSWATCH_PER_HOST must be a whole number"),
    (["alerts", "retry", "--alert", "nonsense://hook"], {}, "not a valid apprise URL"),
    (["digest", "--alert", "nonsense://hook"], {}, "not a valid apprise URL"),
    (["digest", "--db", "{tmp}/none.db"], {}, "no store at"),
])
def test_a_mistake_in_the_settings_is_one_line_for_the_other_commands(tmp_path, command, env, message):
    assert_one_line_error(tmp_path, command, env, message)


def test_backfill_reports_under_its_range(tmp_path, monkeypatch):
    import flows
    import pipeline

    monkeypatch.setattr(flows, "backfill", lambda **_: pipeline.RunSummary(sources=2, announced=3, new=3))
    result = runner.invoke(app, ["backfill", "--since", "2024-01-01", "--until", "2024-01-31",
                                 "--db", str(tmp_path / "news.db")], env={"COLUMNS": "500"})
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("Backfill 2024-01-01..2024-01-31: 2 sources, 3 announced, 0 fetched, 3 new,")


def test_version_is_the_installed_packages():
    from importlib.metadata import version

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout == f"newswatch {version('newswatch')}\n"


@pytest.mark.parametrize("command", [
    ["run", "--db", "{tmp}/news.db"],
    ["backfill", "--since", "2024-01-01", "--until", "2024-01-31", "--db", "{tmp}/news.db"],
    ["digest", "--db", "{tmp}/news.db"],
    ["demo", "--db", "{tmp}/news.db"],
    ["serve"],
])
def test_a_prefect_api_that_does_not_answer_is_one_line(tmp_path, command):
    """PREFECT_API_URL names a server that is down: say so and how to go on, before any flow runs."""
    from prefect.settings import PREFECT_API_URL, PREFECT_CLIENT_MAX_RETRIES, temporary_settings

    from newswatch.loopback import free_port

    Store(tmp_path / "news.db").close()  # digest needs a store
    down = f"http://newswatch:Sup3rSecret@127.0.0.1:{free_port()}/api"
    # No retries of the health check: the answer is the same, without Prefect's backoff.
    with temporary_settings({PREFECT_API_URL: down, PREFECT_CLIENT_MAX_RETRIES: 0}):
        result = runner.invoke(app, [arg.format(tmp=tmp_path) for arg in command], env={"COLUMNS": "500"})
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith("error: the Prefect API at http://127.0.0.1:")
    assert "unset PREFECT_API_URL" in result.stderr and "Sup3rSecret" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_serve_without_a_prefect_server_says_how_to_start_one():
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(restore_defaults={PREFECT_API_URL}):  # whatever test ran before
        result = runner.invoke(app, ["serve"], env={"COLUMNS": "500"})
    assert result.exit_code == 1 and "this needs a Prefect server: start one" in result.stderr


def test_serve_names_a_missing_deployments_file(tmp_path):
    result = runner.invoke(app, ["serve", "--file", str(tmp_path / "prefect.yaml")], env={"COLUMNS": "500"})
    assert result.exit_code == 2 and "prefect.yaml" in result.output and "does not exist" in result.output


def test_run_refuses_an_unknown_alert_mode():
    result = runner.invoke(app, ["run", "--alert-mode", "loud"])
    assert result.exit_code == 2 and "loud" in result.output


@pytest.mark.parametrize("command, heading", [
    (["articles"], "Stored articles"), (["stories"], "Stories"), (["sources"], "Sources"),
    (["alerts", "list"], "Alerts"),
])
def test_list_commands_print_tables(tmp_path, command, heading):
    from detectors import Detection
    from extractors import Article
    from storage import AlertChannel

    db = tmp_path / "news.db"
    with Store(db) as store:
        store.save_article(Article(url="https://a.example/1", canonical_url=None, title="Envoys [meet]",
                                   text="US and Iranian envoys met."),
                           Detection("us-iran-talks", True, 0.9, ["US and Iranian envoys met."], "held or ongoing"),
                           source="A", channels=[AlertChannel("k", "mailto://***")])
        store.record_source_run("A", error=None, dark_after=3)
    result = runner.invoke(app, [*command, "--db", str(db)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert heading in result.stdout
    if command != ["sources"]:
        assert "Envoys [meet]" in result.stdout  # article text is shown literally, not as markup


def test_extract_drops_what_a_stores_sites_repeat(tmp_path):
    from datetime import date

    from helpers import SIGN_OFF, archive_routes, make_archive
    from detectors import Detection
    from extractors import extract_article

    base = "https://archive-times.example"
    routes = archive_routes(base, make_archive(date(2024, 1, 1), 4), sign_off=True)
    pages = sorted(path for path in routes if path.startswith("/news/"))
    with Store(tmp_path / "news.db") as store:
        for path in pages[:3]:
            article = extract_article(routes[path].body, url=base + path)
            store.save_article(article, Detection("us-iran-talks", False, 0.0), source="Archive Times")
    last = tmp_path / "last.html"
    last.write_bytes(routes[pages[3]].body)

    plain = runner.invoke(app, ["extract", "--url", base + pages[3], str(last)])
    learnt = runner.invoke(app, ["extract", "--url", base + pages[3], "--site-memory", str(tmp_path / "news.db"),
                                 str(last)])
    assert plain.exit_code == 0 and learnt.exit_code == 0, learnt.output
    (plain_record,), (learnt_record,) = json_lines(plain.stdout), json_lines(learnt.stdout)
    assert SIGN_OFF in plain_record["text"] and SIGN_OFF not in learnt_record["text"]
    assert learnt_record["text"] == plain_record["text"].replace(SIGN_OFF, "").strip()
    assert {"reason": "repeated on many pages of this site", "text": SIGN_OFF} in learnt_record["removed"]


def test_extract_with_a_site_memory_that_is_not_a_store_is_a_clear_error(tmp_path):
    notes = tmp_path / f"{'long-folder-name-' * 6}notes.txt"  # the message must not be wrapped inside the path
    notes.write_text("not a database")
    page = tmp_path / "page.html"
    page.write_bytes(seed_page(EUROPE_PATH))
    result = runner.invoke(app, ["extract", "--site-memory", str(notes), str(page)])
    assert result.exit_code == 1
    assert f"{notes} is not a newswatch store" in result.stderr and not result.stdout
    assert notes.read_text() == "not a database"


def _broken_store(tmp_path, kind: str) -> str:
    """A store path that cannot be used, of one ``kind``."""
    if kind == "truncated":
        Store(tmp_path / "whole.db").close()
        data = (tmp_path / "whole.db").read_bytes()
        (tmp_path / "cut.db").write_bytes(data[:len(data) // 3])
        return str(tmp_path / "cut.db")
    if kind == "folder":
        (tmp_path / "folder.db").mkdir()
        return str(tmp_path / "folder.db")
    return "/dev/null"


@pytest.mark.parametrize("command", [["run", "--alert-mode", "none"], ["articles"], ["sources"], ["alerts", "list"]])
@pytest.mark.parametrize("kind, message", [
    ("truncated", "cut.db: database disk image is malformed; the file is damaged: restore it from a backup"),
    ("folder", "folder.db: "),
    ("device", "/dev/null"),
])
def test_a_broken_store_is_one_line_of_error(tmp_path, monkeypatch, command, kind, message):
    import flows

    monkeypatch.setattr(flows, "monitor", lambda **_: pytest.fail("the flow ran"))
    assert_one_line_error(tmp_path, [*command, "--db", _broken_store(tmp_path, kind)], {}, message)


def test_read_only_commands_neither_wait_for_a_writer_nor_change_the_store(tmp_path):
    import hashlib
    import sqlite3

    db = tmp_path / "news.db"
    with Store(db) as store:
        store.record_source_run("A", error=None, dark_after=3)
    writer = sqlite3.connect(db, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # another process in the middle of a write
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    try:
        for command in (["articles"], ["stories"], ["sources"], ["alerts", "list"]):
            result = runner.invoke(app, [*command, "--db", str(db), "--json"])
            assert result.exit_code == 0, result.output
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before


def test_sources_shows_dark_since_only_once_a_source_is_dark(tmp_path):
    db = tmp_path / "news.db"
    with Store(db) as store:
        store.record_source_run("A", error="HTTP 500", dark_after=3)

    def dark_since(env=None):
        result = runner.invoke(app, ["sources", "--db", str(db), "--json"], env=env)
        return json_lines(result.stdout)[0]["dark_since"]

    assert dark_since() is None
    assert dark_since({"NEWSWATCH_DARK_AFTER": "1"}) is not None


@pytest.mark.parametrize("failed, exit_code", [(["A", "B"], 1), (["A"], 0)])
def test_run_fails_when_every_source_failed(tmp_path, monkeypatch, failed, exit_code):
    import flows
    import pipeline

    summary = pipeline.RunSummary(sources=2, failed_sources=failed)
    monkeypatch.setattr(flows, "monitor", lambda **_: summary)
    result = runner.invoke(app, ["run", "--db", str(tmp_path / "news.db"), "--alert-mode", "none"])
    assert result.exit_code == exit_code, result.output
    assert ("every source failed this run (2)" in result.stderr) == (exit_code == 1)


def test_classify_reports_each_kind_of_bad_line_and_goes_on(tmp_path):
    good = b'{"id": "ok", "title": "US and Iran hold talks", "text": "Envoys met in Oman."}\n'
    lines = [good, b'{"id": 1, "text": "caf\xe9"}\n', b'{"id": 2, "title": 5, "text": "x"}\n',
             b'{"id": "\\udc00", "text": "alone"}\n', b"[" * 100_000 + b"]" * 100_000 + b"\n", b"[1, 2]\n", good]
    path = tmp_path / "in.jsonl"
    path.write_bytes(b"".join(lines))
    result = runner.invoke(app, ["classify", str(path)])
    assert result.exit_code == 1
    assert [row["id"] for row in json_lines(result.stdout)] == ["ok", "ok"]
    for number, reason in [(2, "not UTF-8"), (3, "expected a JSON object with a text string (and a title"),
                           (4, "the line holds a lone surrogate"), (5, "JSON nested too deeply"),
                           (6, "expected a JSON object")]:
        assert f"line {number}: {reason}" in " ".join(result.stderr.split()), result.stderr


def test_extract_reports_each_bad_file_and_extracts_real_pages_with_odd_starts(tmp_path, gz_page):
    page = seed_page(EUROPE_PATH)
    php = tmp_path / "php.html"  # a PHP warning printed before the document
    php.write_bytes(b"<br />\n<b>Warning</b>:  Undefined variable $ad in <b>/var/www/article.php</b> on line "
                    b"<b>41</b><br />\n" + page)
    utf16 = tmp_path / "utf16.html"
    utf16.write_bytes(page.decode("utf-8").encode("utf-16"))
    corrupt = tmp_path / "corrupt.html.gz"
    corrupt.write_bytes(gzip.compress(page)[:200] + b"\x00" * 50 + gzip.compress(page)[250:])
    files = [php, tmp_path / "missing.html", corrupt, utf16]
    result = runner.invoke(app, ["extract", *map(str, files)])
    assert result.exit_code == 1
    rows = {row["file"]: row for row in json_lines(result.stdout)}
    assert len(rows) == 4
    title = "Europe's hopelessly murky, mixed messaging on restraint"
    assert rows[str(php)]["title"] == title and "Warning" not in rows[str(php)]["text"]
    assert rows[str(utf16)]["title"] == title
    assert rows[str(tmp_path / "missing.html")]["error"] == "No such file or directory"
    assert "error" in rows[str(corrupt)]


def dead_mail_url() -> str:
    from newswatch.loopback import free_port

    return f"mailto://127.0.0.1:{free_port()}?from=nw@example.org&to=desk@example.org"


def alerts_listed(db) -> list[dict]:
    return json_lines(runner.invoke(app, ["alerts", "list", "--db", str(db), "--json"]).stdout)


def test_alerts_retry_sends_failed_alerts_to_their_channel_s_corrected_url_once(tmp_path, sources_file, mail):
    from helpers import run_monitor

    db = tmp_path / "news.db"
    run_monitor(sources_file, db, [dead_mail_url()])
    ids = [str(row["id"]) for row in alerts_listed(db)]
    assert len(ids) == 4

    wrong = runner.invoke(app, ["alerts", "retry", *ids, "--db", str(db), "--alert", "json://127.0.0.1:9/hook"])
    assert wrong.exit_code == 1 and "give exactly one --alert URL of scheme mailto://" in wrong.stderr
    fixed = runner.invoke(app, ["alerts", "retry", *ids, "--db", str(db), "--alert", mail.alert_url()])
    assert fixed.exit_code == 0, fixed.output
    assert "4 alert(s) made due; 4 sent" in fixed.stderr
    assert [row["status"] for row in alerts_listed(db)] == ["sent"] * 4
    assert all(row["channel_label"].startswith(f"mailto://127.0.0.1:{mail.port}") for row in alerts_listed(db))
    again = runner.invoke(app, ["alerts", "retry", *ids, "--db", str(db), "--alert", mail.alert_url()])
    assert again.exit_code == 0 and "0 alert(s) made due; 0 sent" in again.stderr
    assert len(mail.messages) == 4


def test_alerts_cancel_and_unknown_ids(tmp_path, sources_file, mail):
    from helpers import run_monitor

    db = tmp_path / "news.db"
    dead = dead_mail_url()
    run_monitor(sources_file, db, [dead])
    first, second, *_ = (str(row["id"]) for row in alerts_listed(db))
    cancelled = runner.invoke(app, ["alerts", "cancel", first, "--db", str(db)])
    assert cancelled.exit_code == 0 and "1 alert(s) cancelled" in cancelled.stderr
    assert [row["status"] for row in alerts_listed(db)] == ["cancelled", "failed", "failed", "failed"]
    retried = runner.invoke(app, ["alerts", "retry", "--db", str(db), "--alert", dead])
    assert "3 alert(s) made due" in retried.stderr  # the cancelled one stays cancelled
    for command in (["alerts", "retry", "999", first], ["alerts", "cancel", "999"]):
        unknown = runner.invoke(app, [*command, "--db", str(db)])
        assert unknown.exit_code == 1 and "error: no alert 999 in the outbox" in unknown.stderr
    sent = runner.invoke(app, ["alerts", "retry", second, "--db", str(db), "--alert", mail.alert_url()])
    assert sent.exit_code == 0, sent.output
    refused = runner.invoke(app, ["alerts", "cancel", second, "--db", str(db)])
    assert refused.exit_code == 1 and f"alert {second} was sent already" in refused.stderr


def test_webhook_secrets_stay_out_of_alerts_list_the_store_and_logs(tmp_path, sources_file, caplog):
    import logging
    import sqlite3

    from helpers import run_monitor
    from newswatch.loopback import LoopbackSite

    secrets = ["PATHT0KEN", "H3ADERT0KEN", "PARAMT0KEN"]
    db = tmp_path / "news.db"
    caplog.set_level(logging.DEBUG)
    with LoopbackSite({"/hooks/PATHT0KEN": Response(b"down", "text/plain", status=503)}) as hook:
        port = hook.base_url.rsplit(":", 1)[1]
        run_monitor(sources_file, db, [f"json://127.0.0.1:{port}/hooks/PATHT0KEN?+X-Api-Key=H3ADERT0KEN&-apikey=PARAMT0KEN"])
    assert hook.requests and hook.requests[0].headers["X-Api-Key"] == "H3ADERT0KEN"  # they were used
    table = runner.invoke(app, ["alerts", "list", "--db", str(db)], env={"COLUMNS": "400"}).stdout
    listed = alerts_listed(db)
    assert listed[0]["status"] == "failed" and listed[0]["channel_label"].startswith(f"json://127.0.0.1:{port}/****/****")
    dump = "\n".join(sqlite3.connect(db).iterdump())
    for secret in secrets:
        assert secret not in table + json.dumps(listed) + dump + caplog.text, secret


def test_reclassify_after_adding_a_topic_alerts_only_the_newly_flagged_story(tmp_path, sources_file, mail,
                                                                              monkeypatch):
    from detectors import detect_each, load_topics
    from extractors import Article
    from helpers import run_monitor

    db = tmp_path / "news.db"
    run_monitor(sources_file, db, [mail.alert_url()])
    assert len(mail.messages) == 4
    venezuela = Article(url="https://wire.example/venezuela", canonical_url=None,
                        title="US and Venezuela agree to resume talks",
                        text="The United States and Venezuela agreed on Friday to resume negotiations in Doha next week.")
    with Store(db) as store:
        saved = store.save_article(venezuela, detect_each(load_topics(seeds.TOPICS_FILE), title=venezuela.title,
                                                          text=venezuela.text), source="Wire")
    assert saved.alerts_enqueued == 0  # no topic of the first file flags it
    monkeypatch.setenv("NEWSWATCH_TOPICS", str(seeds.EXAMPLE_TOPICS_FILE))

    first = runner.invoke(app, ["reclassify", "--db", str(db), "--alert", mail.alert_url()])
    assert first.exit_code == 0, first.output
    assert "Reclassified 7 articles: 1 stories newly flagged, 0 state changes recorded (not alerted); 1 alerts " \
           "enqueued, 1 sent" in first.stderr
    assert [m["subject"] for m in mail.messages[4:]] == ["[newswatch] 1 new stories"]  # a digest, by default
    assert "US–Venezuela talks: scheduled" in mail.messages[4].get_body(("plain",)).get_content()
    again = runner.invoke(app, ["reclassify", "--db", str(db), "--alert", mail.alert_url()])
    assert "0 stories newly flagged" in again.stderr and len(mail.messages) == 5

    stories = {row["title"]: row for row in json_lines(runner.invoke(app, ["stories", "--db", str(db), "--json"]).stdout)}
    assert [t["topic"] for t in stories[venezuela.title]["topics"]] == ["us-venezuela-talks"]
    articles = json_lines(runner.invoke(app, ["articles", "--db", str(db), "--json"]).stdout)
    (stored,) = [row for row in articles if row["url"] == venezuela.url]
    assert stored["topic"] == "us-venezuela-talks" and stored["flagged"]
    assert [t["topic"] for t in stored["topics"] if t["flagged"]] == ["us-venezuela-talks"]
    unknown = runner.invoke(app, ["reclassify", "--db", str(db), "--topic", "us-cuba-talks"])
    assert unknown.exit_code == 1 and "no topic 'us-cuba-talks'" in unknown.stderr
