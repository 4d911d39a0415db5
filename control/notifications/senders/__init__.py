"""One sender per channel type, each ``send(config, message)`` raising ``DeliveryFailed``.

``config`` is the channel's settings with its secrets; a sender never puts a secret in
an exception message or a log line.
"""

from __future__ import annotations

from control.notifications.interfaces import Sender
from control.notifications.senders import email, telegram, webhook

SENDERS: dict[str, Sender] = {
    "telegram": telegram.send,
    "email": email.send,
    "webhook": webhook.send,
}

__all__ = ["SENDERS"]
