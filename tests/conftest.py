import os
import tempfile

# Before anything imports prefect: a private PREFECT_HOME, no telemetry, no API URL from the user's profile.
os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="newswatch-prefect-")
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["DO_NOT_TRACK"] = "1"
os.environ.pop("PREFECT_API_URL", None)
for name in [n for n in os.environ if n.startswith("NEWSWATCH_")]:
    del os.environ[name]
# The loopback sites need no pause between requests; test_sources tests the pause itself.
os.environ["NEWSWATCH_MIN_DELAY"] = "0"

import gzip  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

import seeds  # noqa: E402
from helpers import PAGES, archive_routes, seed_routes, sources_toml  # noqa: E402
from newswatch.loopback import LoopbackSite, MailSink  # noqa: E402


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that needs the Prefect API is slow (the server takes ~10 s to start, a flow run seconds):
    `make check` leaves it out."""
    for item in items:
        if "prefect_api" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def prefect_api():
    """One real Prefect API (a temporary server) for the whole session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=60):
        yield


@pytest.fixture
def site():
    """The seeds demo site on a loopback port; tests may add or change routes while it runs."""
    with LoopbackSite() as loopback:
        loopback.routes.update(seed_routes(loopback.base_url))
        yield loopback


@pytest.fixture
def mail():
    with MailSink() as sink:
        yield sink


@pytest.fixture
def sources_file(tmp_path, site):
    path = tmp_path / "sources.toml"
    path.write_text(seeds.demo_sources_toml(site.base_url))
    return path


@pytest.fixture
def gz_page(tmp_path):
    def write(body: bytes, name: str = "page.html.gz") -> Path:
        path = tmp_path / name
        path.write_bytes(gzip.compress(body))
        return path
    return write


@pytest.fixture
def archive(tmp_path):
    """The dated archive site of tests/helpers.py on a loopback port, with tmp_path/sources.toml for it."""
    with LoopbackSite() as site:
        site.routes.update(archive_routes(site.base_url, PAGES))
        (tmp_path / "sources.toml").write_text(sources_toml(site.base_url))
        yield site
