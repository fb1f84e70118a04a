"""Alert delivery through apprise: channel identity, message rendering, sending."""

from ._channels import channel_for, mask_url
from ._deliver import DeliveryError, send_alert
from ._render import Message, render_alert

__all__ = ["DeliveryError", "Message", "channel_for", "mask_url", "render_alert", "send_alert"]
