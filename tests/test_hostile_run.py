"""benchmarks/hostile.py as a test: one `newswatch run` over the demo's sources and one source per
hostile behaviour, each on a loopback host of its own (a module of its own: it takes most of a minute,
and the test workers share the slow modules out)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.usefixtures("prefect_api")
def test_a_run_against_every_hostile_source_at_once_stays_small_ends_in_time_and_keeps_the_rest():
    from prefect.settings import PREFECT_API_URL

    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(), "NEWSWATCH_REQUEST_DEADLINE": "3",
           "NEWSWATCH_SOURCE_DEADLINE": "10"}
    out = subprocess.run([sys.executable, "benchmarks/hostile.py", "--json", "--no-baseline"], cwd=root, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.splitlines()[-1])
    assert result["exit_code"] == 0, result["log_tail"]
    assert result["peak_rss_mb"] < 300 and result["peak_rss_helpers_mb"] < 300
    assert result["wall_s"] < 2 * 10 + 30  # discovery, then the pages: each within the source deadline
    # The demo's 6 articles, the 2 behind the endless robots.txt, and the run-on sentence (flagged).
    assert result["stored"].count("run-on sentence") == 1 and "run-on sentence" in result["flagged"]
    assert len(result["stored"]) == 9
    errors = result["sources"]
    assert errors["Global Wire Daily"] is None and errors["endless robots.txt"] is None
    assert "body too large" in errors["compression bombs"]
    assert "no complete answer within 3 s" in errors["trickling page"]
    assert "blocked: 169.254.169.254" in errors["private addresses"]
    assert "HTTP 500" in errors["server error"]
    assert errors["sitemap fan-out"] is None or "took over 10 s" in errors["sitemap fan-out"]
