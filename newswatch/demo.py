"""`newswatch demo`: the seeds news site and a real SMTP server on loopback, one monitor run, a report."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from pydantic import SecretStr

import seeds
from flows import RunSummary, monitor
from storage import Store

from .loopback import LoopbackSite, MailSink, Response

# A stable port keeps the demo's article URLs the same from one demo run to the next.
DEMO_PORT = 8765
DEFAULT_DEMO_DB = Path("newswatch-demo.db")


@dataclass
class DemoResult:
    site_url: str
    summary: RunSummary
    articles: list[dict]
    emails: list[EmailMessage]


def demo(*, db_path: Path = DEFAULT_DEMO_DB, port: int = DEMO_PORT) -> DemoResult:
    """Serve the demo site and an SMTP sink on 127.0.0.1, run the monitor flow once against them."""
    with LoopbackSite(port=port) as site, MailSink() as mail, tempfile.TemporaryDirectory() as tmp:
        site.routes = {path: Response(body, ctype) for path, (ctype, body) in seeds.demo_site(site.base_url).items()}
        sources_file = Path(tmp, "sources.toml")
        sources_file.write_text(seeds.demo_sources_toml(site.base_url))
        summary = monitor(
            sources_file=str(sources_file), db_path=str(db_path), alert_urls=[SecretStr(mail.alert_url())]
        )
        with Store(db_path) as store:
            articles = list(store.articles())
        return DemoResult(site.base_url, summary, articles, list(mail.messages))
