"""The alert examples of the README and docs/alerts.md are what a run sends: one monitor run over
the demo site, alerting a real SMTP server, a Slack webhook and a JSON webhook on loopback, compared
with the captures they show (the demo site's address there is the one `newswatch demo` serves on)."""

import json
import re
from pathlib import Path

import pytest
from pydantic import SecretStr

import seeds
from newswatch.demo import DEMO_PORT
from helpers import seed_routes
from newswatch.loopback import LoopbackSite, MailSink, Response
from pipeline import load_settings, monitor_once, prepare_run
from storage import Store

ROOT = Path(__file__).resolve().parents[1]
# The README shows the email and Slack captures; docs/alerts.md the JSON webhook's.
SHOWN = (ROOT / "README.md").read_text() + (ROOT / "docs" / "alerts.md").read_text()
SLACK_PATH = "/services/T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ"


def shown(name: str) -> str:
    """The code block that follows ``<!-- captured: name -->`` in the README or docs/alerts.md (where
    it is indented as a list item's)."""
    found = re.search(rf"<!-- captured: {name} -->\n( *)```\w*\n(.*?)```", SHOWN, re.DOTALL)
    assert found, f"no captured {name} in the README or docs/alerts.md"
    return re.sub(rf"(?m)^{found.group(1)}", "", found.group(2))


@pytest.fixture(scope="module")
def captured(tmp_path_factory):
    """What the first flagged story's alert looked like on each channel; where the site was served."""
    from apprise.plugins.slack import NotifySlack

    tmp = tmp_path_factory.mktemp("readme")
    hooks = LoopbackSite({SLACK_PATH: Response(b"ok", "text/plain"), "/newswatch": Response(b"ok", "text/plain")})
    with LoopbackSite() as site, MailSink() as mail, hooks, pytest.MonkeyPatch.context() as patch:
        site.routes.update(seed_routes(site.base_url))
        (tmp / "sources.toml").write_text(seeds.demo_sources_toml(site.base_url))
        patch.setattr(NotifySlack, "webhook_url", hooks.url("/services"))
        channels = [mail.alert_url(to="desk@example.org"), f"slack://{SLACK_PATH.removeprefix('/services/')}/",
                    f"json://127.0.0.1:{hooks.base_url.rsplit(':', 1)[1]}/newswatch"]
        settings = load_settings(sources_file=tmp / "sources.toml", db_path=tmp / "news.db",
                                 alert_urls=[SecretStr(url) for url in channels])
        with Store(settings.db) as store:
            monitor_once(prepare_run(settings), store)
    demo = f"http://127.0.0.1:{DEMO_PORT}"
    email = mail.messages[0]
    slack = next(r for r in hooks.requests if r.path == SLACK_PATH)
    webhook = next(r for r in hooks.requests if r.path == "/newswatch")
    return {
        "email": f"Subject: {email['subject']}\n\n" + "\n".join(email.get_body(("plain",)).get_content().strip().splitlines())
                 + "\n",
        "slack": json.loads(slack.body)["attachments"][0]["blocks"],
        "json": json.loads(json.loads(webhook.body)["message"]),
    }, site.base_url, demo


def test_the_readme_shows_the_email_a_run_sends(captured):
    sent, served_at, demo = captured
    assert shown("email") == sent["email"].replace(served_at, demo)


def test_the_readme_shows_the_slack_blocks_a_run_sends(captured):
    sent, served_at, demo = captured
    assert json.loads(shown("slack")) == json.loads(json.dumps(sent["slack"]).replace(served_at, demo))


def test_the_readme_shows_the_json_a_run_sends(captured):
    sent, served_at, demo = captured
    assert json.loads(shown("json")) == json.loads(json.dumps(sent["json"]).replace(served_at, demo))
