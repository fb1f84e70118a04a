"""End to end through a real Prefect API: the monitor and digest flows against the loopback seeds site
and a real SMTP server, overlapping runs, the Secret block, artifacts, and what Prefect keeps. Few
and slow; the behaviour of each step is tested without Prefect in test_pipeline.py."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from prefect.settings import PREFECT_LOCAL_STORAGE_PATH, PREFECT_RESULTS_PERSIST_BY_DEFAULT, temporary_settings
from pydantic import SecretStr
from typer.testing import CliRunner

from flows import digest, monitor
from helpers import FLAGGED_PATHS, NOT_FLAGGED_PATHS
from newswatch.cli import app
from storage import Store, StoreBusy, run_lock

pytestmark = pytest.mark.usefixtures("prefect_api")
ROOT = Path(__file__).resolve().parents[1]


def test_the_monitor_flow_stores_flags_alerts_and_reports_once(tmp_path, site, mail, sources_file):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    db = tmp_path / "news.db"
    summary = monitor(sources_file=str(sources_file), db_path=str(db), alert_urls=[SecretStr(mail.alert_url())])

    assert (summary.new, summary.flagged, summary.alerts_sent, summary.failures) == (6, 4, 4, [])
    with Store(db) as store:
        flagged = {row["url"]: row["flagged"] for row in store.articles()}
    assert flagged == {**{site.url(p): True for p in FLAGGED_PATHS}, **{site.url(p): False for p in NOT_FLAGGED_PATHS}}
    assert len(mail.messages) == 4
    with get_client(sync_client=True) as client:
        (report,) = client.read_artifacts(artifact_filter=ArtifactFilter(
            key=ArtifactFilterKey(any_=["monitor-flagged-stories"])), sort=ArtifactSort.CREATED_DESC, limit=1)
    assert report.data.startswith("# 4 flagged stories this monitor run")

    again = monitor(sources_file=str(sources_file), db_path=str(db), alert_urls=[SecretStr(mail.alert_url())])
    assert (again.fetched, again.new, again.alerts_sent) == (0, 0, 0) and len(mail.messages) == 4


def test_alert_urls_from_a_prefect_secret_block(tmp_path, site, mail, sources_file):
    from prefect.blocks.system import Secret

    from flows import ALERT_URLS_BLOCK

    Secret(value=mail.alert_url()).save(ALERT_URLS_BLOCK, overwrite=True)
    try:
        summary = monitor(sources_file=str(sources_file), db_path=str(tmp_path / "news.db"))
    finally:
        Secret.delete(ALERT_URLS_BLOCK)
    assert summary.alerts_sent == 4 and len(mail.messages) == 4




def lock_is_held(db) -> bool:
    try:
        with run_lock(db, wait=0):
            return False
    except StoreBusy:
        return True


def test_overlapping_monitor_runs_skip_and_alert_once(tmp_path, site, mail, sources_file, monkeypatch):
    from prefect.settings import PREFECT_API_URL

    for path in FLAGGED_PATHS:  # a slow first run, so that the second starts while it works
        site.routes[path].delay = 8.0
    db = tmp_path / "news.db"
    code = ("import sys; from pydantic import SecretStr; from flows import monitor; "
            "monitor(sources_file=sys.argv[1], db_path=sys.argv[2], alert_urls=[SecretStr(sys.argv[3])])")
    first = subprocess.Popen([sys.executable, "-c", code, str(sources_file), str(db), mail.alert_url()], cwd=ROOT,
                             env={**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value()},
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not lock_is_held(db) and time.monotonic() < deadline:
        time.sleep(0.05)

    monkeypatch.setenv("NEWSWATCH_LOCK_WAIT", "0.5")
    second = CliRunner().invoke(app, ["run", "--sources", str(sources_file), "--db", str(db),
                                      "--alert", mail.alert_url()])
    assert second.exit_code == 75, second.output
    assert "skipped" in second.output and "another newswatch run" in second.output
    assert first.wait(timeout=120) == 0

    third = monitor(sources_file=str(sources_file), db_path=str(db), alert_urls=[SecretStr(mail.alert_url())])
    assert (third.skipped, third.new, third.alerts_sent) == (None, 0, 0)
    assert len(mail.messages) == len(FLAGGED_PATHS)  # each story alerted once
    with Store(db) as store:
        urls = [row["url"] for row in store.articles()]
    assert len(urls) == len(set(urls)) == 6


def test_queued_alerts_go_out_in_the_next_digest(tmp_path, site, mail, sources_file):
    db = tmp_path / "news.db"
    alert = [SecretStr(mail.alert_url())]
    summary = monitor(sources_file=str(sources_file), db_path=str(db), alert_urls=alert, alert_mode="queue")
    assert summary.flagged == 4 and mail.messages == []

    delivered = digest(db_path=str(db), alert_urls=alert)
    assert delivered.sent == 4
    (message,) = mail.messages
    assert message["subject"] == "[newswatch] 4 new stories"

    assert digest(db_path=str(db), alert_urls=alert).sent == 0  # nothing twice
    assert len(mail.messages) == 1


def test_no_article_text_in_prefect_result_storage(tmp_path, site, mail, sources_file):
    storage = tmp_path / "prefect-results"
    # Even where a user turns result persistence on for everything, article text stays in the store.
    with temporary_settings({PREFECT_RESULTS_PERSIST_BY_DEFAULT: True, PREFECT_LOCAL_STORAGE_PATH: storage}):
        summary = monitor(sources_file=str(sources_file), db_path=str(tmp_path / "news.db"),
                          alert_urls=[SecretStr(mail.alert_url())])
    assert summary.new == 6
    # Nothing at all: results are pickled and encoded, so a search for the text itself would prove little.
    assert not storage.exists() or not [p for p in storage.rglob("*") if p.is_file()]


def test_a_source_whose_task_fails_fails_alone(tmp_path, site, mail, sources_file, monkeypatch):
    """The monitor flow stores the other sources and records the failed one's pages and health,
    instead of failing whole (its task's retries are left out here: 30 s of waiting)."""
    import sys

    import pipeline

    collect = pipeline.collect

    def crash_on_review(plan, **kwargs):
        if plan.source == "The Statecraft Review":
            raise MemoryError("out of memory")
        return collect(plan, **kwargs)

    monitor_module = sys.modules["flows.monitor"]
    monkeypatch.setattr(monitor_module, "collect_source", monitor_module.collect_source.with_options(retries=0))
    monkeypatch.setattr(pipeline, "collect", crash_on_review)
    db = tmp_path / "news.db"
    summary = monitor(sources_file=str(sources_file), db_path=str(db), alert_urls=[SecretStr(mail.alert_url())])
    assert summary.new == 4 and summary.failed_sources == ["The Statecraft Review"]
    assert {reason for _, reason in summary.failures} == {"collecting the source crashed: MemoryError: out of memory"}
    with Store(db) as store:
        assert store.urls_to_retry("The Statecraft Review")  # its pages, for the next run
