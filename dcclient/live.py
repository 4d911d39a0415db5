"""The live log feed (``WS /api/v1/ws/logs``) as an async iterator of log entries.

The socket is authenticated in its first message (never in the URL); the ``backfill``
frame's stored entries come first, oldest first, then live ones. An entry can be in
both (stored just before the subscription), so ids already seen are skipped.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import urlencode

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from dcclient.api import Client
from dcclient.auth import API_PREFIX
from dcclient.errors import ApiError

OPEN_TIMEOUT = 10.0
SEEN_IDS = 10_000  # remembered ids for de-duplication; enough for a 500-entry backfill
MAX_RECONNECTS = 8  # reopenings in a row without the feed going live in between
MAX_BACKOFF = 30.0  # seconds between reopenings after an outage
# Closes after which the feed is opened again: token expired (with a refresh), server
# going away or restarting, credential store unreachable, connection lost (1006, or no
# close frame at all: None).
REOPEN = {4001, 1001, 1006, 1011, 1012, None}
CLOSE_CODES: dict[int, tuple[int | None, str, str]] = {
    4001: (401, "CREDENTIAL_REVOKED", "the credential expired or was revoked"),
    4400: (400, "INVALID_FILTER", "the app or level filter is invalid"),
    4401: (401, "NOT_AUTHENTICATED", "authentication failed"),
    4403: (403, "FORBIDDEN", "this role may not read the log feed"),
    4429: (429, "TOO_MANY_CONNECTIONS", "too many open feeds for this user or address"),
}


def websocket_url(base_url: str, path: str, params: dict[str, Any]) -> str:
    scheme, rest = base_url.split("://", 1)
    ws = "wss" if scheme == "https" else "ws"
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{ws}://{rest}{API_PREFIX}{path}" + (f"?{query}" if query else "")


class _Closed(Exception):
    """The socket ended: its close code (None: no close frame, or never opened) and the
    error to raise if it is not to be reopened."""

    def __init__(self, code: int | None, error: ApiError | None) -> None:
        super().__init__(code)
        self.code = code
        self.error = error


async def follow_logs(
    client: Client,
    *,
    app: str | None = None,
    level: str | None = None,
    backfill: int = 100,
    on_subscribed: Callable[[dict[str, Any]], None] | None = None,
    reconnect: bool = True,
) -> AsyncIterator[dict[str, Any]]:
    """Yield ``log.entry`` data (the row shape of ``GET /logs``) until the server closes
    the socket normally; a refusal raises ``ApiError``. ``on_subscribed`` gets the filter
    in force each time the feed is live.

    With ``reconnect``, a feed closed because the access token expired (4001) is opened
    again with a refreshed token, and one lost to a restart or an outage (1001, 1006,
    1011, 1012) after a backoff; the backfill of the new socket fills the gap, and
    entries already yielded are skipped."""
    url = websocket_url(
        client.base_url, "/ws/logs", {"app": app, "level": level, "backfill": backfill or None}
    )
    seen: dict[int, None] = {}  # insertion-ordered: the oldest ids are forgotten first
    failures = 0
    went_live = False  # a feed that never opened is not retried: the URL or key is wrong
    while True:
        # the credential is fetched (and refreshed if need be) with the sync client
        credential: dict[str, str] = {}
        if client.auth is not None:
            credential = await asyncio.to_thread(client.auth.websocket_auth, client.http)

        def live(data: dict[str, Any]) -> None:
            nonlocal failures, went_live
            failures, went_live = 0, True
            if on_subscribed is not None:
                on_subscribed(data)

        try:
            async for entry in _session(url, credential, seen, live):
                yield entry
            return
        except _Closed as closed:
            if closed.error is None:
                return
            retry = reconnect and went_live and failures < MAX_RECONNECTS
            if not retry or closed.code not in REOPEN:
                raise closed.error from None
            failures += 1
            if closed.code == 4001:
                if not await asyncio.to_thread(_renew, client, credential):
                    raise closed.error from None
            else:
                await asyncio.sleep(min(2.0**failures, MAX_BACKOFF))


def _renew(client: Client, credential: dict[str, str]) -> bool:
    """A new token after the feed refused the one in ``credential``."""
    if client.auth is None or "token" not in credential:
        return False  # an API key that was revoked stays revoked
    return client.auth.renew(client.http, {"Authorization": f"Bearer {credential['token']}"})


async def _session(
    url: str,
    credential: dict[str, str],
    seen: dict[int, None],
    live: Callable[[dict[str, Any]], None],
) -> AsyncIterator[dict[str, Any]]:
    """One socket's entries, new ids only; ``_Closed`` when it ends."""
    try:
        async with connect(url, proxy=None, open_timeout=OPEN_TIMEOUT) as ws:
            await ws.send(json.dumps({"type": "auth", **credential}))
            async for message in ws:
                frame = json.loads(message)
                kind = frame.get("type")
                if kind == "backfill":
                    entries = [event["data"] for event in frame["data"]["events"]]
                elif kind == "log.entry":
                    entries = [frame["data"]]
                else:
                    if kind == "subscribed":
                        live(frame["data"])
                    continue  # auth_ok, heartbeat, dropped, error (live goes on)
                for entry in entries:
                    entry_id = entry.get("id")
                    if entry_id is not None:
                        if entry_id in seen:
                            continue
                        seen[entry_id] = None
                        if len(seen) > SEEN_IDS:
                            seen.pop(next(iter(seen)))
                    yield entry
    except InvalidStatus as exc:
        refused = exc.response.status_code
        error = ApiError(refused, "HANDSHAKE_REFUSED", f"the log feed refused: HTTP {refused}")
        raise _Closed(None, error) from None
    except ConnectionClosed as exc:
        code = exc.rcvd.code if exc.rcvd else None
        if code == 1000:
            raise _Closed(code, None) from None
        status, name, text = CLOSE_CODES.get(code or 0, (None, "FEED_CLOSED", f"code {code}"))
        raise _Closed(code, ApiError(status, name, f"the log feed closed: {text}")) from None
    except OSError as exc:
        error = ApiError(None, "UNREACHABLE", f"cannot reach the log feed: {exc}")
        raise _Closed(1006, error) from None
