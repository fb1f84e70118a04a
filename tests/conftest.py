import os
import tempfile

# Before anything imports prefect: a private PREFECT_HOME, no telemetry, no API URL from the user's profile.
os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="newswatch-prefect-")
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["DO_NOT_TRACK"] = "1"
os.environ.pop("PREFECT_API_URL", None)
for name in [n for n in os.environ if n.startswith("NEWSWATCH_")]:
    del os.environ[name]

import gzip  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

import seeds  # noqa: E402
from newswatch.loopback import LoopbackSite, MailSink, Response  # noqa: E402


TOKYO_PATH = "/review/2019/12/19/rouhani-tokyo-trip-us-iran-talks.html"
RUSSIA_UKRAINE_PATH = "/review/2024/04/25/diplomacy-watch-russia-ukraine-deal-2022.html"
REJECTED_PATH = "/daily/world/2017/09/25/iran-rejected-trump-meeting.html"
EUROPE_PATH = "/daily/world/2024/04/19/europe-mixed-messaging-restraint.html"
FLAGGED_PATHS = [TOKYO_PATH, REJECTED_PATH]
NOT_FLAGGED_PATHS = [RUSSIA_UKRAINE_PATH, EUROPE_PATH]

# Chrome that the seed capture of the Tokyo-trip page shows leaking into article text.
CHROME = ["keep reading", "Show less", "Follow us on social", "Shutterstock_645187786", "Analysis | Middle East",
          "Read more", "Sign up for", "Up next", "Latest", "Most read", "Related coverage"]


def seed_routes(base_url: str) -> dict[str, Response]:
    return {path: Response(body, ctype) for path, (ctype, body) in seeds.demo_site(base_url).items()}


def seed_page(path: str, base_url: str = "http://127.0.0.1:8765") -> bytes:
    return seeds.demo_site(base_url)[path][1]


def seed_paragraphs(name: str) -> list[str]:
    """The paragraphs of a seed document (seeds/documents), blank-line separated."""
    return [p.strip() for p in (seeds.DOCUMENTS_DIR / name).read_text().split("\n\n") if p.strip()]


def _tokyo_body() -> list[str]:
    """The article paragraphs of seed 002, without the chrome around them."""
    paragraphs = seed_paragraphs("002_082fa78cfa3d0590.txt")
    start = next(i for i, p in enumerate(paragraphs) if p.startswith("Iranian President Hassan Rouhani's trip"))
    end = next(i for i, p in enumerate(paragraphs) if p.startswith('A "small" deal now'))
    return paragraphs[start:end + 1]


TOKYO_BODY = _tokyo_body()


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
