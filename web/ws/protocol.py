"""The WebSocket protocol of ``/api/v1/ws/dashboard`` and ``/api/v1/ws/logs``.

A client connects, then sends ``{"type": "auth", "token": "<jwt>"}`` (or
``{"type": "auth", "api_key": "<key>"}``) as its first message, within
``DC_WS_AUTH_TIMEOUT_SECONDS`` (5 s). Credentials in the URL are never read. The server
answers ``auth_ok`` and starts sending events; afterwards the client may send
``subscribe``, ``unsubscribe`` and ``ping``. Every server frame is
``{"type", "timestamp", "data"}``; the full description is ``docs/websockets.md``.

Close codes:

====  =================================================================================
1000  normal closure
1001  the server is shutting down; reconnect (uvicorn itself sends 1012 when it stops)
1011  internal error, or the credential could not be checked (revocation store down);
      reconnect later
4001  the token expired or was revoked (or the key revoked, the account disabled):
      get a new credential, then reconnect
4400  invalid filter in the URL (``/ws/logs?app=…&level=…&backfill=…``)
4401  authentication missing, malformed, invalid, or not sent within the timeout
4403  the credential's role may not use this feed
4408  too many invalid messages (``MAX_BAD_MESSAGES``)
4429  too many connections for this user (``DC_WS_MAX_CONNECTIONS_PER_USER``) or this
      address (``DC_WS_MAX_CONNECTIONS_PER_IP``)
4430  too many messages: the client sent faster than ``DC_WS_MESSAGES_PER_SECOND``
      beyond a burst of ``DC_WS_MESSAGE_BURST`` (an ``error`` frame ``RATE_LIMITED``
      comes first); reconnect after a pause
====  =================================================================================

A handshake from a browser page whose ``Origin`` is not in ``DC_CORS_ORIGINS`` is
refused before the socket opens (HTTP 403).
"""

from __future__ import annotations

import datetime as dt
from enum import IntEnum
from typing import Annotated, Any, Literal

import orjson
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from control.enums import LogLevel
from control.events.types import DUMP_OPTIONS, EventType, format_timestamp

MAX_MESSAGE_CHARS = 16_384
MAX_BAD_MESSAGES = 5
MAX_BACKFILL = 500


class Close(IntEnum):
    """The close codes the server uses (see the module docstring)."""

    NORMAL = 1000
    GOING_AWAY = 1001
    INTERNAL = 1011
    CREDENTIAL_ENDED = 4001
    BAD_QUERY = 4400
    UNAUTHENTICATED = 4401
    FORBIDDEN = 4403
    TOO_MANY_BAD_MESSAGES = 4408
    TOO_MANY_CONNECTIONS = 4429
    TOO_MANY_MESSAGES = 4430


# -- client messages -----------------------------------------------------------------------


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Auth(_Message):
    """The first message: exactly one of ``token`` (a JWT access token) or ``api_key``."""

    type: Literal["auth"]
    token: str | None = Field(None, min_length=1, max_length=8192)
    api_key: str | None = Field(None, min_length=1, max_length=512)

    @model_validator(mode="after")
    def _one_credential(self) -> Auth:
        if (self.token is None) == (self.api_key is None):
            raise ValueError("send exactly one of token or api_key")
        return self


AppGlob = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[\w.:@/*?-]+$")]


class Subscribe(_Message):
    """Replace the connection's filter; ``backfill`` asks for the last N matching logs."""

    type: Literal["subscribe"]
    app: AppGlob | None = None
    level: int | None = None
    types: list[EventType] | None = Field(None, min_length=1, max_length=len(EventType))
    backfill: int = Field(0, ge=0, le=MAX_BACKFILL)

    @field_validator("level", mode="before")
    @classmethod
    def _level(cls, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise ValueError("a level name (DEBUG … CRITICAL) or number")
        try:
            return int(LogLevel.parse(value))
        except (KeyError, ValueError):
            raise ValueError("a level name (DEBUG … CRITICAL) or number") from None


class Unsubscribe(_Message):
    """Stop receiving events (heartbeats go on)."""

    type: Literal["unsubscribe"]


class Ping(_Message):
    """Answered with ``pong`` (echoing ``id`` when given)."""

    type: Literal["ping"]
    id: str | int | None = None

    @field_validator("id")
    @classmethod
    def _short(cls, value: str | int | None) -> str | int | None:
        if isinstance(value, str) and len(value) > 64:
            raise ValueError("at most 64 characters")
        return value


ClientMessage = Annotated[Auth | Subscribe | Unsubscribe | Ping, Field(discriminator="type")]
_adapter: TypeAdapter[ClientMessage] = TypeAdapter(ClientMessage)


class BadMessage(ValueError):
    """Raised for a client message that is not valid; the text is safe to send back."""


def parse(text: str) -> Auth | Subscribe | Unsubscribe | Ping:
    """The client message in ``text``; BadMessage when it is not one."""
    if len(text) > MAX_MESSAGE_CHARS:
        raise BadMessage(f"messages are limited to {MAX_MESSAGE_CHARS} characters")
    try:
        body = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise BadMessage("not JSON") from None
    if not isinstance(body, dict) or not isinstance(body.get("type"), str):
        raise BadMessage("a JSON object with a string 'type' is required")
    try:
        return _adapter.validate_python(body)
    except ValidationError as exc:
        error = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p) for p in error["loc"][1:])
        message = error["msg"].removeprefix("Value error, ")
        raise BadMessage(f"{where}: {message}" if where else message) from None


# -- server frames ---------------------------------------------------------------------------


def frame(kind: str, data: dict[str, Any] | None = None) -> str:
    """A server frame ``{"type", "timestamp", "data"}`` as JSON text."""
    body = {
        "type": kind,
        "timestamp": format_timestamp(dt.datetime.now(dt.UTC)),
        "data": data or {},
    }
    return orjson.dumps(body, option=DUMP_OPTIONS).decode()


def error(message: str, code: str = "INVALID_MESSAGE") -> str:
    """An ``error`` frame."""
    return frame("error", {"code": code, "message": message})


def dropped(count: int) -> str:
    """The notice that ``count`` frames were dropped because the client fell behind."""
    return frame("dropped", {"count": count})


def parse_query(params: dict[str, str | None]) -> Subscribe:
    """The subscription a URL's ``app``, ``level`` and ``backfill`` describe."""
    try:
        return Subscribe.model_validate({"type": "subscribe", **params})
    except ValidationError as exc:
        error = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p) for p in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        raise BadMessage(f"{where}: {message}" if where else message) from None
