"""Kill the monitor process (SIGKILL) around alert delivery; rerun; count what arrived.

Documented behaviour: a kill before delivery loses nothing and sends nothing twice; a kill after
a message left but before it was recorded sends that message again: at most one duplicate."""

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from pydantic import SecretStr

from flows import monitor
from newswatch.loopback import MailSink, free_port
from storage import Store

pytestmark = pytest.mark.usefixtures("prefect_api")
ROOT = Path(__file__).resolve().parents[1]


def start_monitor(sources_file, db, alert_url, log: Path) -> subprocess.Popen:
    from prefect.settings import PREFECT_API_URL

    code = ("import sys; from pydantic import SecretStr; from flows import monitor; "
            "monitor(sources_file=sys.argv[1], db_path=sys.argv[2], alert_urls=[SecretStr(sys.argv[3])])")
    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value()}
    with open(log, "wb") as out:
        return subprocess.Popen([sys.executable, "-c", code, str(sources_file), str(db), alert_url], cwd=ROOT,
                                env=env, stdout=out, stderr=subprocess.STDOUT)


def wait_for(condition, process: subprocess.Popen, log: Path, seconds=60.0):
    """Wait until ``condition()`` holds while the monitor process runs; say why if it never does."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        if condition():
            return
        time.sleep(0.1)
    state = "timed out" if process.poll() is None else f"the monitor exited ({process.returncode}) first"
    raise AssertionError(f"{state}; its output ends:\n{log.read_text()[-3000:]}")


def alert_statuses(db) -> list[str]:
    if not Path(db).exists():
        return []
    try:
        with Store(db) as store:
            return [row["status"] for row in store.alerts()]
    except Exception:  # the store is being created by the other process
        return []


def subjects(sink: MailSink) -> list[str]:
    return sorted(m["subject"] for m in sink.messages)


def test_killed_between_enqueue_and_delivery(tmp_path, sources_file):
    port = free_port()
    url = f"mailto://127.0.0.1:{port}?from=newswatch@localhost&to=alerts@example.org"
    db = tmp_path / "news.db"
    silent = socket.socket()  # accepts connections and never greets: delivery hangs
    silent.bind(("127.0.0.1", port))
    silent.listen()
    accepted = []
    threading.Thread(target=lambda: accepted.append(silent.accept()), daemon=True).start()

    log = tmp_path / "monitor.log"
    process = start_monitor(sources_file, db, url, log)
    wait_for(lambda: accepted and alert_statuses(db) == ["pending"] * 4, process, log)
    process.send_signal(signal.SIGKILL)
    process.wait()
    accepted[0][0].close()
    silent.close()

    with MailSink(port=port) as sink:
        monitor(sources_file=str(sources_file), db_path=str(db), alert_urls=[SecretStr(url)])
        monitor(sources_file=str(sources_file), db_path=str(db), alert_urls=[SecretStr(url)])
    assert len(sink.messages) == 4 and len(set(subjects(sink))) == 4  # each story once
    assert alert_statuses(db) == ["sent"] * 4


class HoldingSink(MailSink):
    """Keeps each message, then holds back the '250' reply while ``hold`` is set."""

    hold = True

    async def handle_DATA(self, server, session, envelope):
        reply = await super().handle_DATA(server, session, envelope)
        while self.hold:
            await asyncio.sleep(0.05)
        return reply


def test_killed_between_delivery_and_recording(tmp_path, sources_file):
    db = tmp_path / "news.db"
    with HoldingSink() as sink:
        url = sink.alert_url()
        log = tmp_path / "monitor.log"
        process = start_monitor(sources_file, db, url, log)
        wait_for(lambda: len(sink.messages) == 1, process, log)  # a message arrived; its reply is held back
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert alert_statuses(db) == ["pending"] * 4  # nothing was recorded as sent

        sink.hold = False
        monitor(sources_file=str(sources_file), db_path=str(db), alert_urls=[SecretStr(url)])
        monitor(sources_file=str(sources_file), db_path=str(db), alert_urls=[SecretStr(url)])

    received = subjects(sink)
    assert len(set(received)) == 4  # nothing lost
    assert len(received) == 5  # the interrupted one arrived twice: the documented duplicate
    assert alert_statuses(db) == ["sent"] * 4
