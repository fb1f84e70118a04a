"""How runs share a store: overlapping monitor runs, the queue and the digest, and what Prefect keeps."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from prefect.settings import PREFECT_LOCAL_STORAGE_PATH, PREFECT_RESULTS_PERSIST_BY_DEFAULT, temporary_settings
from pydantic import SecretStr
from typer.testing import CliRunner

from conftest import FLAGGED_PATHS
from flows import digest, monitor
from newswatch.cli import app
from storage import Store, StoreBusy, run_lock

pytestmark = pytest.mark.usefixtures("prefect_api")
ROOT = Path(__file__).resolve().parents[1]


def lock_is_held(db) -> bool:
    try:
        with run_lock(db, wait=0):
            return False
    except StoreBusy:
        return True


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


def test_overlapping_monitor_runs_skip_and_alert_once(tmp_path, site, mail, sources_file, monkeypatch):
    from prefect.settings import PREFECT_API_URL

    for path in FLAGGED_PATHS:  # a slow first run, so that the second starts while it works
        site.routes[path].delay = 2.0
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
    assert len(urls) == len(set(urls)) == 4


def test_queued_alerts_go_out_in_the_next_digest(tmp_path, site, mail, sources_file):
    db = tmp_path / "news.db"
    alert = [SecretStr(mail.alert_url())]
    summary = monitor(sources_file=str(sources_file), db_path=str(db), alert_urls=alert, alert_mode="queue")
    assert summary.flagged == 2 and mail.messages == []

    delivered = digest(db_path=str(db), alert_urls=alert)
    assert delivered.sent == 2
    (message,) = mail.messages
    assert message["subject"] == "[newswatch] 2 new stories"

    assert digest(db_path=str(db), alert_urls=alert).sent == 0  # nothing twice
    assert len(mail.messages) == 1


def test_no_article_text_in_prefect_result_storage(tmp_path, site, mail, sources_file):
    storage = tmp_path / "prefect-results"
    # Even where a user turns result persistence on for everything, article text stays in the store.
    with temporary_settings({PREFECT_RESULTS_PERSIST_BY_DEFAULT: True, PREFECT_LOCAL_STORAGE_PATH: storage}):
        summary = monitor(sources_file=str(sources_file), db_path=str(tmp_path / "news.db"),
                          alert_urls=[SecretStr(mail.alert_url())])
    assert summary.new == 4
    # Nothing at all: results are pickled and encoded, so a search for the text itself would prove little.
    assert not storage.exists() or not [p for p in storage.rglob("*") if p.is_file()]
