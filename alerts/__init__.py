"""Alert delivery through apprise: channel identity, message rendering, sending."""

from ._channels import channel_for, mask_url
from ._deliver import Deliveries, DeliveryError, deliver_pending, send_alert, send_test_message
from ._render import Message, render_alert

__all__ = [
    "Deliveries",
    "DeliveryError",
    "Message",
    "channel_for",
    "deliver_pending",
    "mask_url",
    "render_alert",
    "send_alert",
    "send_test_message",
]
