import json
import logging
from dataclasses import replace

import pytest

from alerts import (
    DeliveryError,
    channel_for,
    check_url,
    mask_url,
    render_alert,
    render_digest,
    send_alert,
    send_digest,
)
from newswatch.loopback import LoopbackSite, Response, free_port
from storage import PendingAlert

ALERT = PendingAlert(
    alert_id=1, channel="k", story_id=7, attempts=0, title="Iran and US hold talks in Oman",
    url="https://news.example/iran-us-oman", outlet="Example News", published="2025-04-12",
    state="held or ongoing", score=0.93,
    evidence=["Iran and US hold talks in Oman", "American and Iranian envoys met in Muscat on Saturday."],
    matched=["American", "Iranian", "met"],
    also_reported_by=[{"outlet": "Wire Daily", "url": "https://wire.example/oman-talks"}],
    topic="us-iran-talks", topic_label="US–Iran talks", language="en",
)
# The same story a day later, after its state changed.
MOVED = replace(ALERT, alert_id=2, state="stalled or postponed", previous_state="held or ongoing", kind="state",
                state_sentence="A second round in Muscat was postponed on Sunday.",
                evidence=["A second round in Muscat was postponed on Sunday."])
SLACK_URL = "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/"
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


def test_message_names_topic_state_headline_outlet_evidence_and_link():
    message = render_alert(ALERT)
    assert message.title == "[US–Iran talks · held or ongoing] Iran and US hold talks in Oman"
    for part in ["Example News · 2025-04-12 · English", "held or ongoing · score 0.93", "“American and Iranian envoys met",
                 "Wire Daily: https://wire.example/oman-talks", ALERT.url]:
        assert part in message.body


def test_a_state_change_quotes_the_new_evidence_and_names_the_previous_state():
    message = render_alert(MOVED)
    assert message.title == "[US–Iran talks · stalled or postponed] Iran and US hold talks in Oman"
    assert "State: stalled or postponed (was: held or ongoing) · score 0.93" in message.body
    assert message.body.index("“A second round in Muscat was postponed") < message.body.index(ALERT.url)


def test_email_has_an_html_and_a_plain_part_through_a_real_smtp_server(mail):
    send_alert(mail.alert_url(to="desk@example.org"), MOVED)
    (message,) = mail.messages
    assert message["to"] == "desk@example.org"
    assert message["subject"] == "[US–Iran talks · stalled or postponed] Iran and US hold talks in Oman"
    html_part = message.get_body(("html",)).get_content()
    assert f'<a href="{ALERT.url}">Iran and US hold talks in Oman</a>' in html_part
    lines = message.get_body(("plain",)).get_content().splitlines()
    for line in ["Example News · 2025-04-12 · English", "State: stalled or postponed (was: held or ongoing) · score 0.93",
                 "“A second round in Muscat was postponed on Sunday.”",
                 "Wire Daily: https://wire.example/oman-talks", ALERT.url]:
        assert line in lines, (line, lines)


def test_a_1000_character_unbroken_headline_is_cut_and_the_email_arrives(mail):
    send_alert(mail.alert_url(), replace(ALERT, title="Iran" + "x" * 996, evidence=["y" * 5000]))
    (message,) = mail.messages
    assert len(message["subject"]) == 150 and message["subject"].endswith("…")
    plain = message.get_body(("plain",)).get_content()
    assert "y" * 499 in plain and "y" * 500 not in plain


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


def test_email_escapes_the_headline_and_marks_the_matched_words(mail):
    send_alert(mail.alert_url(), HOSTILE)
    (message,) = mail.messages
    html_part = message.get_body(("html",)).get_content()
    assert "<script>" not in html_part and "&lt;script&gt;" in html_part
    assert "<b>American</b>" in html_part and "<b>Iranian</b>" in html_part


def slack_blocks(monkeypatch, alert: PendingAlert, *, digest: list[PendingAlert] | None = None) -> list[dict]:
    """The Block Kit blocks a Slack webhook receives for ``alert`` (or the digest of ``digest``)."""
    from apprise.plugins.slack import NotifySlack

    with LoopbackSite({"/services/T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ": Response(b"ok", "text/plain")}) as site:
        monkeypatch.setattr(NotifySlack, "webhook_url", site.url("/services"))
        if digest:
            send_digest(SLACK_URL, digest)
        else:
            send_alert(SLACK_URL, alert)
    (request,) = site.requests
    return json.loads(request.body)["attachments"][0]["blocks"]


def test_slack_gets_block_kit_sections_for_headline_state_evidence_and_outlets(monkeypatch):
    header, headline, state, evidence, outlets = slack_blocks(monkeypatch, MOVED)
    assert header == {"type": "header", "text": {"type": "plain_text", "text": render_alert(MOVED).title}}
    assert headline["text"] == {"type": "mrkdwn",
                                "text": f"*<{ALERT.url}|Iran and US hold talks in Oman>*\nExample News · 2025-04-12 · English"}
    assert state["text"]["text"] == "*State:* stalled or postponed (was: held or ongoing) · score 0.93"
    assert evidence["text"]["text"] == "> A second round in Muscat was postponed on Sunday."
    assert outlets == {"type": "context", "elements": [
        {"type": "mrkdwn", "text": "Also reported by: <https://wire.example/oman-talks|Wire Daily>"}]}


def test_slack_text_is_escaped_and_the_matched_words_marked(monkeypatch):
    _, headline, _, evidence, _ = slack_blocks(monkeypatch, HOSTILE)
    assert headline["text"]["text"].startswith(f"*<{ALERT.url}|Talks &lt;script&gt;")
    assert "<https://evil.example" not in headline["text"]["text"]  # no link injected by the headline
    assert evidence["text"]["text"].endswith("\n> *American* and *Iranian* envoys *met* in Muscat on Saturday.")


def test_a_hostile_article_url_cannot_ping_the_channel_or_add_a_link(monkeypatch):
    hostile = replace(ALERT, url="https://news.example/a?x=1&y=2><!channel><https://evil.example|Verify")
    text = slack_blocks(monkeypatch, hostile)[1]["text"]["text"]
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


def test_a_json_webhook_gets_the_alert_s_fields():
    with LoopbackSite({"/hook": Response(b"ok", "text/plain")}) as site:
        send_alert(f"json://127.0.0.1:{site.base_url.rsplit(':', 1)[1]}/hook", MOVED)
    (request,) = site.requests
    received = json.loads(request.body)
    assert received["title"] == "[US–Iran talks · stalled or postponed] Iran and US hold talks in Oman"
    (alert,) = json.loads(received["message"])["alerts"]
    assert alert == {
        "topic": "us-iran-talks", "topic_label": "US–Iran talks", "story_id": 7, "kind": "state",
        "state": "stalled or postponed", "previous_state": "held or ongoing", "title": "Iran and US hold talks in Oman",
        "url": ALERT.url, "outlet": "Example News", "published": "2025-04-12", "language": "en", "score": 0.93,
        "evidence": ["A second round in Muscat was postponed on Sunday."],
        "state_sentence": "A second round in Muscat was postponed on Sunday.",
        "also_reported_by": [{"outlet": "Wire Daily", "url": "https://wire.example/oman-talks"}]}


def test_a_digest_groups_a_story_s_alerts_newest_state_first(monkeypatch):
    other = replace(ALERT, alert_id=3, story_id=8, title="US envoy to visit Tehran", url="https://news.example/visit",
                    state="scheduled")
    message = render_digest([ALERT, other, MOVED], style="text")
    assert message.title == "[newswatch] 2 new stories"  # first alerted in this digest, moved since: new
    assert render_digest([other, MOVED]).title == "[newswatch] 2 stories: 1 new, 1 with a new state"
    newest, older = message.body.split("\n- ")  # the story with the newest alert first
    assert newest.startswith("- US envoy to visit Tehran — US–Iran talks: scheduled")
    assert older.startswith("Iran and US hold talks in Oman — US–Iran talks: stalled or postponed ← held or ongoing")
    (section,) = [b for b in slack_blocks(monkeypatch, ALERT, digest=[ALERT, other, MOVED]) if b["type"] == "section"]
    assert f"\n• *<{ALERT.url}|Iran and US hold talks in Oman>* — stalled or postponed ← held" in section["text"]["text"]


def test_a_webhook_that_answers_500_raises():
    with LoopbackSite({"/hook": Response(b"down", "text/plain", status=500)}) as site:
        with pytest.raises(DeliveryError):
            send_alert(f"json://127.0.0.1:{site.base_url.rsplit(':', 1)[1]}/hook", ALERT)


def queue_flagged(store, count: int, channel) -> None:
    from detectors import Detection
    from extractors import Article

    flagged = Detection("us-iran-talks", True, 0.9, ["US and Iranian envoys met."], "held or ongoing",
                        label="US–Iran talks")
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
    assert subjects[:2] == ["[US–Iran talks · held or ongoing] Envoys meet, round 0",
                            "[US–Iran talks · held or ongoing] Envoys meet, round 1"]
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


@pytest.mark.parametrize("url, scheme_and_host, secrets", [
    ("json://hooks.example.org/services/T0KENPATH?+X-Api-Key=H3ADERSECRET&-token=PARAMSECRET",
     "json://hooks.example.org/", ["T0KENPATH", "H3ADERSECRET", "PARAMSECRET"]),
    ("forms://user:PassW0rd@hooks.example.org/in/PATHSECRET?-apikey=PARAMSECRET&:key=PAYLOADSECRET",
     "forms://user:****@hooks.example.org/", ["PassW0rd", "PATHSECRET", "PARAMSECRET", "PAYLOADSECRET"]),
    ("state:xml://hooks.example.org/PATHSECRET?+Authorization=Bearer%20H3ADERSECRET",
     "xml://hooks.example.org/", ["PATHSECRET", "H3ADERSECRET"]),
])
def test_webhook_labels_mask_path_header_and_parameter_secrets(url, scheme_and_host, secrets):
    label = channel_for(url).label
    assert label.startswith(scheme_and_host)
    assert not [secret for secret in secrets if secret in label], label
    assert not [secret for secret in secrets if secret in mask_url(url)]


def test_a_channel_s_mode_is_written_before_its_url_and_keeps_its_identity():
    url = "mailtos://newswatch:pw@smtp.example.org?to=desk@example.org"
    plain, digest, each = channel_for(url), channel_for(f"digest:{url}"), channel_for(f"each:{url}")
    assert plain.key == digest.key == each.key and plain.label == digest.label
    assert (plain.mode, digest.mode, each.mode) == ("state", "digest", "each")
    assert plain.follows_states and not each.follows_states
    check_url(f"digest:{url}")
    with pytest.raises(DeliveryError):
        check_url("weekly:" + url)  # not a mode: no such apprise scheme either


def save(store, url: str, state: str, *, source: str, channels, published="2025-04-12", canonical="https://a.example/s"):
    from detectors import Detection
    from extractors import Article

    sentence = f"US and Iranian envoys say the talks are {state} ({url})."
    detection = Detection("us-iran-talks", True, 0.9, [sentence], state, label="US–Iran talks", state_sentence=sentence)
    article = Article(url=url, canonical_url=canonical, title="Envoys meet in Muscat", text=sentence,
                      site_name=source, published=published)
    return store.save_article(article, detection, source=source, channels=channels)


def test_a_story_alerts_once_per_state_change_and_never_for_a_new_outlet(tmp_path, mail):
    from alerts import deliver_pending
    from storage import Store

    follows, new_only = mail.alert_url(to="states@example.org"), "each:" + mail.alert_url(to="new@example.org")
    channels = [channel_for(follows), channel_for(new_only)]
    with Store(tmp_path / "news.db") as store:
        assert save(store, "https://a.example/1", "held or ongoing", source="A", channels=channels).alerts_enqueued == 2
        assert deliver_pending(store, [follows, new_only]).sent == 2
        copy = save(store, "https://b.example/1", "held or ongoing", source="B", channels=channels)
        assert (copy.status, copy.alerts_enqueued) == ("duplicate", 0)  # a new outlet alone: no alert
        moved = save(store, "https://c.example/1", "stalled or postponed", source="C", channels=channels,
                     published="2025-04-13")
        assert moved.alerts_enqueued == 1  # the channel that follows states only
        assert save(store, "https://d.example/1", "stalled or postponed", source="D", channels=channels,
                    published="2025-04-14").alerts_enqueued == 0  # the same state again
        stale = save(store, "https://e.example/1", "scheduled", source="E", channels=channels, published="2025-04-01")
        assert stale.alerts_enqueued == 0  # older news than the state it would change
        assert deliver_pending(store, [follows, new_only]).sent == 1
        (story,) = store.stories()
    assert [(m["to"], m["subject"]) for m in mail.messages] == [
        ("states@example.org", "[US–Iran talks · held or ongoing] Envoys meet in Muscat"),
        ("new@example.org", "[US–Iran talks · held or ongoing] Envoys meet in Muscat"),
        ("states@example.org", "[US–Iran talks · stalled or postponed] Envoys meet in Muscat")]
    change = mail.messages[2].get_body(("plain",)).get_content()
    assert "State: stalled or postponed (was: held or ongoing) · score 0.90" in change
    assert "talks are stalled or postponed (https://c.example/1)" in change
    for outlet in "ABDE":  # every other outlet, those found after the change too, with its link
        assert f"{outlet}: https://{outlet.lower()}.example/1" in change
    (topic,) = story["topics"]
    assert (topic["topic"], topic["label"], topic["state"]) == ("us-iran-talks", "US–Iran talks", "stalled or postponed")
    assert [(h["previous_state"], h["state"], h["url"]) for h in topic["history"]] == [
        (None, "held or ongoing", "https://a.example/1"),
        ("held or ongoing", "stalled or postponed", "https://c.example/1")]
    assert topic["history"][1]["sentence"] == "US and Iranian envoys say the talks are stalled or postponed (https://c.example/1)."


def test_a_digest_channel_gets_digests_whatever_the_run_s_mode(tmp_path, mail):
    from alerts import deliver_pending
    from storage import Store

    url = "digest:" + mail.alert_url()
    with Store(tmp_path / "news.db") as store:
        save(store, "https://a.example/1", "held or ongoing", source="A", channels=[channel_for(url)])
        save(store, "https://c.example/1", "agreed", source="C", channels=[channel_for(url)], published="2025-04-13")
        assert deliver_pending(store, [url], mode="each").sent == 2
    (message,) = mail.messages
    assert message["subject"] == "[newswatch] 1 new stories"
    assert "agreed ← held or ongoing" in message.get_body(("plain",)).get_content()


def test_an_alert_says_the_article_s_language_and_quotes_it_right_to_left():
    persian = replace(ALERT, language="fa", title="دور سوم گفت‌وگوهای ایران و آمریکا شنبه در رم برگزار می‌شود",
                      evidence=["هیئت‌های دو کشور قرار است در رم گفت‌وگو کنند."], matched=["گفت‌وگو"])
    email = render_alert(persian, style="email")
    assert "Example News · 2025-04-12 · Persian" in email.body
    assert '<h2 dir="auto">' in email.body and '<p dir="auto">“هیئت‌های دو کشور' in email.body
    assert "· Persian" in render_alert(persian, style="slack").body
    assert json.loads(render_alert(persian, style="json").body)["alerts"][0]["language"] == "fa"
    # A code babel does not know is shown as it is; no language, no mention.
    assert "· xx" in render_alert(replace(ALERT, language="xx")).body
    assert render_alert(replace(ALERT, language=None)).body.splitlines()[1] == "Example News · 2025-04-12"
