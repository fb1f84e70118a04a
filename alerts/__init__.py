"""Alert delivery through apprise: channels (a URL and its mode) and their masked identity,
message rendering for each kind of channel, sending."""

from ._channels import channel_for, mask_url
from ._deliver import (
    Deliveries,
    DeliveryError,
    check_url,
    deliver_pending,
    send_alert,
    send_digest,
    send_source_notice,
    send_test_message,
)
from ._render import Message, markdown_link, markdown_text, render_alert, render_digest

__all__ = [
    "Deliveries",
    "DeliveryError",
    "Message",
    "channel_for",
    "check_url",
    "deliver_pending",
    "markdown_link",
    "markdown_text",
    "mask_url",
    "render_alert",
    "render_digest",
    "send_alert",
    "send_digest",
    "send_source_notice",
    "send_test_message",
]
