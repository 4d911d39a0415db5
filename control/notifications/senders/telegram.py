"""Telegram: ``sendMessage`` of the Bot API at ``DC_TELEGRAM_API_BASE``.

The bot token is part of the URL path, so neither the URL nor httpx's exception text
ever reaches an error message; httpx's own request log line is filtered (``_log``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

import httpx

from control.notifications.interfaces import DeliveryFailed, Message
from control.notifications.senders.http import check, post

MAX_TEXT = 4096  # the Bot API's limit for one message
BOT_PATH = re.compile(r"/bot[^/\s]+/")


class _TokenFilter(logging.Filter):
    """Masks ``/bot<token>/`` in httpx's request log lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.msg, record.args = record.getMessage(), None
        if isinstance(record.msg, str) and "/bot" in record.msg:
            record.msg = BOT_PATH.sub("/bot[redacted]/", record.msg)
        return True


def _log() -> None:
    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _TokenFilter) for f in logger.filters):
            logger.addFilter(_TokenFilter())


_log()


def _base() -> str:
    from control.settings import get_settings

    return get_settings().telegram_api_base


def send(
    config: Mapping[str, Any],
    message: Message,
    client: httpx.Client | None = None,
    base: str | None = None,
) -> None:
    """Send the message's text to ``config["chat_id"]`` as ``config["bot_token"]``."""
    url = f"{base or _base()}/bot{config['bot_token']}/sendMessage"
    body = {
        "chat_id": config["chat_id"],
        "text": message.text()[:MAX_TEXT],
        "disable_web_page_preview": True,
    }
    response = post(url, "telegram", client, json=body)
    description = ""
    try:
        answer = response.json()
        description = str(answer.get("description") or "")[:300]
    except ValueError:
        answer = None
    check(response, "telegram", description)
    if not isinstance(answer, dict) or answer.get("ok") is not True:
        raise DeliveryFailed(f"telegram: answer not ok {description}".rstrip())
