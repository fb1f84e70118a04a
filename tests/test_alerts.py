import json
import logging
from dataclasses import replace

import pytest

from alerts import DeliveryError, channel_for, check_url, mask_url, render_alert, render_digest, send_alert
from newswatch.loopback import LoopbackSite, Response, free_port
from storage import PendingAlert

ALERT = PendingAlert(
    alert_id=1, channel="k", story_id=7, attempts=0, title="Iran and US hold talks in Oman",
    url="https://news.example/iran-us-oman", outlet="Example News", published="2025-04-12",
    state="held or ongoing", score=0.93,
    evidence=["Iran and US hold talks in Oman", "American and Iranian envoys met in Muscat on Saturday."],
    matched=["American", "Iranian", "met"], also_reported_by=["Wire Daily"],
)
# A headline written to break out of the channel's markup.
HOSTILE = replace(ALERT, title="Talks <script>alert(1)</script> & <https://evil.example|click> *now*")


@pytest.mark.parametrize("url, secret", [
    ("mailtos://newswatch:Sup3rSecretPass@smtp.example.org?to=desk@example.org", "Sup3rSecretPass"),
    ("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#news", "TIiajkdnlazkcOXrIdevi7FQ"),
])
def test_channels_are_known_by_hash_and_masked_label(url, secret):
    channel = channel_for(url)
    assert channel == channel_for(url)
    assert secret not in channel.key and secret not in channel.label
    assert channel.label.split("://")[0] == url.split("://")[0]


def test_unreadable_url_is_masked_whole():
    assert mask_url("nonsense://user:pw@host") == "nonsense://(unreadable URL)"


def test_message_names_headline_outlet_state_evidence_and_link():
    message = render_alert(ALERT)
    assert message.title == "[newswatch] Iran and US hold talks in Oman"
    for part in ["Example News", "2025-04-12", "held or ongoing", "“American and Iranian envoys met", ALERT.url]:
        assert part in message.body


def test_email_arrives_through_a_real_smtp_server(mail):
    send_alert(mail.alert_url(to="desk@example.org"), ALERT)
    (message,) = mail.messages
    assert message["to"] == "desk@example.org"
    assert message["subject"] == "[newswatch] Iran and US hold talks in Oman"
    assert ALERT.url in message.get_body(("plain",)).get_content()


def test_unreachable_channel_raises_with_the_url_masked():
    url = f"mailto://newswatch:Sup3rSecretPass@127.0.0.1:{free_port()}?to=desk@example.org&from=nw@example.org"
    with pytest.raises(DeliveryError) as failure:
        send_alert(url, ALERT)
    assert "Sup3rSecretPass" not in str(failure.value)


def test_invalid_url_raises_and_is_never_logged_whole(caplog):
    typo = "slak://T0KENA/B0KENB/Sup3rSecretToken"
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(DeliveryError, match="not a valid apprise URL: slak://") as failure:
            send_alert(typo, ALERT)
        check_url("json://127.0.0.1/hook")  # readable: no error
        with pytest.raises(DeliveryError):
            check_url(typo)
    for token in ("T0KENA", "B0KENB", "Sup3rSecretToken"):
        assert token not in str(failure.value) + caplog.text


def test_email_is_html_with_a_plain_part_and_escapes_the_headline(mail):
    send_alert(mail.alert_url(), HOSTILE)
    (message,) = mail.messages
    html_part = message.get_body(("html",)).get_content()
    plain_part = message.get_body(("plain",)).get_content()
    assert "<script>" not in html_part and "&lt;script&gt;" in html_part
    assert "<mark>American</mark>" in html_part and "<mark>Iranian</mark>" in html_part
    assert "Also reported by: Wire Daily" in html_part
    assert "American and Iranian envoys" in plain_part and ALERT.url in plain_part


def test_slack_gets_blocks_with_a_link_title_and_escaped_text(monkeypatch):
    from apprise.plugins.slack import NotifySlack

    with LoopbackSite({"/services/T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ": Response(b"ok", "text/plain")}) as site:
        monkeypatch.setattr(NotifySlack, "webhook_url", site.url("/services"))
        send_alert("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/", HOSTILE)
    (request,) = site.requests
    payload = json.loads(request.body)
    blocks = payload["attachments"][0]["blocks"]
    section = next(b for b in blocks if b["type"] == "section")["text"]
    assert section["type"] == "mrkdwn"
    assert section["text"].startswith(f"*<{ALERT.url}|Talks &lt;script&gt;")
    assert "<https://evil.example" not in section["text"]  # no link injected by the headline
    assert "> *American* and *Iranian* envoys *met* in Muscat" in section["text"]
    assert "*State:* held or ongoing" in section["text"]


def test_a_hostile_article_url_cannot_ping_the_channel_or_add_a_link(monkeypatch):
    from apprise.plugins.slack import NotifySlack

    hostile = replace(ALERT, url="https://news.example/a?x=1&y=2><!channel><https://evil.example|Verify")
    with LoopbackSite({"/services/T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ": Response(b"ok", "text/plain")}) as site:
        monkeypatch.setattr(NotifySlack, "webhook_url", site.url("/services"))
        send_alert("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/", hostile)
    text = next(b for b in json.loads(site.requests[0].body)["attachments"][0]["blocks"]
                if b["type"] == "section")["text"]["text"]
    assert "<!channel>" not in text and "<https://evil.example" not in text
    assert text.startswith("*<https://news.example/a?x=1&amp;y=2%3E%3C!channel%3E%3Chttps://evil.example%7CVerify|")
    digest = render_digest([hostile], style="slack").body
    assert "<!channel>" not in digest and "%3C!channel%3E" in digest


def test_a_link_that_is_not_http_is_shown_as_text():
    message = render_alert(replace(ALERT, url="javascript:alert(1)"), style="slack")
    assert "<javascript:" not in message.body and "(javascript:alert(1))" in message.body


def test_markdown_for_the_run_report_carries_no_html_or_markup():
    from alerts import markdown_link, markdown_text

    cell = markdown_text("<script>alert(1)</script> | [x](javascript:y) **bold**")
    assert "<script>" not in cell and "&lt;script&gt;" in cell
    assert "\\|" in cell and "\\[x\\]\\(" in cell and "\\*\\*bold" in cell
    link = markdown_link("https://news.example/a b)(<x>", "Title [1]")
    assert link == "[Title \\[1\\]](https://news.example/a%20b%29%28%3Cx%3E)"


def test_json_webhook_gets_title_and_text(tmp_path):
    with LoopbackSite({"/hook": Response(b"ok", "text/plain")}) as site:
        send_alert(f"json://127.0.0.1:{site.base_url.rsplit(':', 1)[1]}/hook", ALERT)
    (request,) = site.requests
    payload = json.loads(request.body)
    assert payload["title"] == "[newswatch] Iran and US hold talks in Oman"
    assert ALERT.url in payload["message"] and "Also reported by: Wire Daily" in payload["message"]


def test_a_webhook_that_answers_500_raises():
    with LoopbackSite({"/hook": Response(b"down", "text/plain", status=500)}) as site:
        with pytest.raises(DeliveryError):
            send_alert(f"json://127.0.0.1:{site.base_url.rsplit(':', 1)[1]}/hook", ALERT)


def queue_flagged(store, count: int, channel) -> None:
    from detectors import Detection
    from extractors import Article

    flagged = Detection("us-iran-talks", True, 0.9, ["US and Iranian envoys met."], "held or ongoing")
    for i in range(count):
        story = Article(url=f"https://a.example/{i}", canonical_url=None, title=f"Envoys meet, round {i}",
                        text=f"US and Iranian envoys met for round {i}.")
        store.save_article(story, flagged, source="A", channels=[channel])


def test_a_burst_beyond_the_rate_limit_goes_as_one_digest(tmp_path, mail):
    from alerts import deliver_pending
    from storage import Store

    url = mail.alert_url()
    with Store(tmp_path / "news.db") as store:
        queue_flagged(store, 5, channel_for(url))
        outcome = deliver_pending(store, [url], rate_limit=2)
        assert outcome.sent == 5
        assert [row["status"] for row in store.alerts()] == ["sent"] * 5
        queue_flagged(store, 7, channel_for(url))  # 2 more (5, 6); the window is still full
        assert deliver_pending(store, [url], rate_limit=2).sent == 2
    subjects = [m["subject"] for m in mail.messages]
    assert subjects[:2] == ["[newswatch] Envoys meet, round 0", "[newswatch] Envoys meet, round 1"]
    assert subjects[2:] == ["[newswatch] 3 new stories", "[newswatch] 2 new stories"]
    digest = mail.messages[2].get_body(("html",)).get_content()
    assert all(f"Envoys meet, round {i}" in digest for i in (2, 3, 4))


def test_digest_mode_sends_one_message_per_channel(tmp_path, mail):
    from alerts import deliver_pending
    from storage import Store

    url = mail.alert_url()
    with Store(tmp_path / "news.db") as store:
        queue_flagged(store, 3, channel_for(url))
        assert deliver_pending(store, [url], mode="digest").sent == 3
        assert deliver_pending(store, [url], mode="digest").sent == 0
    assert [m["subject"] for m in mail.messages] == ["[newswatch] 3 new stories"]
