"""Webhook: a JSON POST signed with HMAC-SHA256 over the timestamp and the body.

Headers: ``X-DC-Timestamp`` (unix seconds) and ``X-DC-Signature: sha256=<hex>``, the
HMAC-SHA256 with the channel's secret of ``f"{timestamp}.{body}"`` (the raw body
bytes). Receivers check it with :func:`verify`; ``docs/notifications.md`` shows how.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import Any

import httpx
import orjson

from control.events.types import format_timestamp
from control.notifications.interfaces import Message
from control.notifications.senders.http import check, post

SIGNATURE_HEADER = "X-DC-Signature"
TIMESTAMP_HEADER = "X-DC-Timestamp"
TOLERANCE_SECONDS = 300


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-DC-Signature`` value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    tolerance: int = TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """Whether ``signature`` is ours for ``body`` and ``timestamp`` is fresh (replays)."""
    try:
        age = abs((time.time() if now is None else now) - int(timestamp))
    except ValueError:
        return False
    return age <= tolerance and hmac.compare_digest(sign(secret, timestamp, body), signature)


def payload(message: Message) -> bytes:
    """The JSON body: the notification and its event data."""
    return orjson.dumps(
        {
            "id": message.delivery_id,
            "event": message.event,
            "severity": message.severity,
            "title": message.title,
            "body": message.body,
            "created": format_timestamp(message.created),
            "data": dict(message.data),
        }
    )


def send(config: Mapping[str, Any], message: Message, client: httpx.Client | None = None) -> None:
    """POST the signed payload to ``config["url"]``."""
    body = payload(message)
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "data-collector-control",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(config["secret"], timestamp, body),
        "X-DC-Event": message.event,
        "X-DC-Delivery": str(message.delivery_id),
    }
    response = post(config["url"], "webhook", client, content=body, headers=headers)
    check(response, "webhook")
