"""Alert delivery through apprise: channel identity, message rendering, sending."""

from ._channels import CHANNEL_MODES, channel_for, mask_url, split_channel
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
from ._render import Message, markdown_link, markdown_text, payload, render_alert, render_digest

__all__ = [
    "CHANNEL_MODES",
    "Deliveries",
    "DeliveryError",
    "Message",
    "channel_for",
    "check_url",
    "deliver_pending",
    "markdown_link",
    "markdown_text",
    "mask_url",
    "payload",
    "render_alert",
    "render_digest",
    "send_alert",
    "send_digest",
    "send_source_notice",
    "send_test_message",
    "split_channel",
]
