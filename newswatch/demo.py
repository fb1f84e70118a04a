"""`newswatch demo`: the seeds news site and a real SMTP server on loopback, one monitor run, a report;
or, with --serve, the site and the SMTP server alone, for `newswatch run` to read."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from pydantic import SecretStr

import seeds
from pipeline import RunSummary
from storage import Store

from .loopback import LoopbackSite, MailSink, Response

# Stable ports keep the demo's article URLs, and the commands the README shows, the same from run to run.
DEMO_PORT = 8765
DEMO_SMTP_PORT = 8025
DEFAULT_DEMO_DB = Path("newswatch-demo.db")


@dataclass
class DemoServers:
    site: LoopbackSite
    mail: MailSink
    sources_file: Path


@dataclass
class DemoResult:
    site_url: str
    summary: RunSummary
    articles: list[dict]
    emails: list[EmailMessage]


@contextmanager
def demo_servers(sources_file: Path, *, port: int = DEMO_PORT, smtp_port: int | None = None,
                 on_message: Callable[[EmailMessage], None] | None = None) -> Iterator[DemoServers]:
    """Serve the demo site and an SMTP server on 127.0.0.1 (``on_message`` called for each email it
    receives), with a sources file for the site written to ``sources_file``."""
    with LoopbackSite(port=port) as site, MailSink(port=smtp_port, on_message=on_message) as mail:
        site.routes = {path: Response(body, ctype) for path, (ctype, body) in seeds.demo_site(site.base_url).items()}
        sources_file.write_text(seeds.demo_sources_toml(site.base_url))
        yield DemoServers(site, mail, sources_file)


def demo(*, db_path: Path = DEFAULT_DEMO_DB, port: int = DEMO_PORT) -> DemoResult:
    """Serve the demo site and an SMTP sink on 127.0.0.1, run the monitor flow once against them."""
    from flows import monitor  # here: `demo --serve` needs no Prefect

    with (tempfile.TemporaryDirectory() as tmp, demo_servers(Path(tmp, "sources.toml"), port=port) as servers):
        summary = monitor(sources_file=str(servers.sources_file), db_path=str(db_path),
                          alert_urls=[SecretStr(servers.mail.alert_url())])
        with Store(db_path) as store:
            articles = list(store.articles())
        return DemoResult(servers.site.base_url, summary, articles, list(servers.mail.messages))
