"""Opaque, tamper-checked cursors for keyset pages.

A cursor is ``base64url(json(key)) . base64url(blake2b(scope + payload, key=secret))``
(keyed BLAKE2, a MAC by design, 16 bytes; a third of HMAC-SHA256's cost, and a list
page signs one): clients cannot read meaning into it or forge one, and one list's
cursor is refused by another (the scope is the route).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from collections.abc import Sequence
from typing import Any

import orjson

from control.errors import InvalidInput


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _encode_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {"t": value.isoformat()}
    if hasattr(value, "value"):  # enums
        return value.value
    return value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"t"}:
        return dt.datetime.fromisoformat(value["t"])
    return value


class CursorCodec:
    """Signs and verifies keyset cursors with a server secret."""

    def __init__(self, secret: bytes) -> None:
        self._key = hashlib.sha256(b"dc-cursor:" + secret).digest()

    def _sign(self, scope: str, payload: bytes) -> bytes:
        message = scope.encode() + b"\0" + payload
        return hashlib.blake2b(message, key=self._key, digest_size=16).digest()

    def encode(self, scope: str, key: Sequence[Any]) -> str:
        """An opaque cursor for the row key ``key`` in the list ``scope``."""
        payload = orjson.dumps([_encode_value(v) for v in key])
        return f"{_b64(payload)}.{_b64(self._sign(scope, payload))}"

    def decode(self, scope: str, cursor: str) -> tuple[Any, ...]:
        """The row key in ``cursor``, or InvalidInput if it was altered or is foreign."""
        try:
            body, signature = cursor.split(".", 1)
            payload = _unb64(body)
            expected = self._sign(scope, payload)
            if not hmac.compare_digest(_unb64(signature), expected):
                raise ValueError("bad signature")
            values = orjson.loads(payload)
            if not isinstance(values, list):
                raise ValueError("not a list")
            return tuple(_decode_value(v) for v in values)
        except (ValueError, TypeError, orjson.JSONDecodeError):
            raise InvalidInput("invalid or expired cursor", field="cursor") from None
