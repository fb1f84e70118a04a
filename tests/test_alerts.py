import pytest

from alerts import DeliveryError, channel_for, mask_url, render_alert, send_alert
from newswatch.loopback import free_port
from storage import PendingAlert

ALERT = PendingAlert(
    alert_id=1, channel="k", story_id=7, attempts=0, title="Iran and US hold talks in Oman",
    url="https://news.example/iran-us-oman", outlet="Example News", published="2025-04-12",
    state="held or ongoing", score=0.93,
    evidence=["Iran and US hold talks in Oman", "American and Iranian envoys met in Muscat on Saturday."],
)


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


def test_invalid_url_raises():
    with pytest.raises(DeliveryError, match="not a valid apprise URL"):
        send_alert("nonsense://x", ALERT)
