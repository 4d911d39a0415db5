"""One WebSocket connection from handshake to close.

The order of things: accept; refuse a bad URL filter (4400) or an address at its limit
(4429); wait for the ``auth`` message (4401 on anything else or on timeout); check the
role (4403) and the user's limit (4429); send ``auth_ok`` and ``subscribed``; then three
tasks run until the first one ends the connection:

- the reader validates each client message (``subscribe``, ``unsubscribe``, ``ping``);
  an invalid one gets an ``error`` frame, the ``MAX_BAD_MESSAGES``-th closes (4408);
- the writer sends the client's outbox (see :mod:`web.ws.hub`);
- the watchdog queues a ``heartbeat`` every ``DC_WS_HEARTBEAT_SECONDS``, re-checks the
  credential every ``DC_WS_RECHECK_SECONDS`` (revoked, disabled: 4001; store down: 1011)
  and closes when the token expires (4001).

On a close the server decides, the writer gets a moment to flush what is queued (the
last ``error`` frame, say) before the close frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from dataclasses import dataclass
from typing import Any

import falcon
import falcon.asgi

from control.auth.credentials import CredentialVerifier
from control.auth.principal import Principal
from control.auth.roles import Role
from control.clock import utcnow
from control.errors import Unauthenticated, Unavailable
from control.events.backfill import recent_log_events
from control.events.types import EventType
from web.wiring import LiveSettings
from web.ws import protocol
from web.ws.budget import BackfillBudget, MessageRate
from web.ws.filters import Filter
from web.ws.hub import Client, Hub, Outbox
from web.ws.protocol import Auth, BadMessage, Close, Ping, Subscribe, Unsubscribe, frame

log = logging.getLogger(__name__)

FLUSH_SECONDS = 1.0  # what the writer gets to send queued frames before a close
Outcome = tuple[int, str] | None  # the close to send, or None when the client left


@dataclass(frozen=True)
class Feed:
    """What a route serves: its default event types and whether a client may pick others."""

    route: str
    default_types: frozenset[EventType]
    choose_types: bool


def owner_key(principal: Principal) -> str:
    """Whose connection this is, for the per-user limit (a user's keys count as theirs)."""
    return principal.owner


class Session:
    """Serves one socket of ``feed``; ``initial`` is the subscription from the URL."""

    def __init__(
        self,
        live: LiveSettings,
        credentials: CredentialVerifier,
        hub: Hub,
        req: falcon.asgi.Request,
        ws: falcon.asgi.WebSocket,
        feed: Feed,
        initial: Subscribe,
        query_error: str | None = None,
        *,
        roles: frozenset[Role] | None,
    ) -> None:
        self.credentials = credentials
        self.settings = live.settings  # as the socket opens
        self.hub = hub
        self.req = req
        self.ws = ws
        self.feed = feed
        self.initial = initial
        self.query_error = query_error
        self.roles = roles  # declared by the route's responder (web/permissions.py)
        self.rate = MessageRate(
            self.settings.ws_messages_per_second, self.settings.ws_message_burst
        )
        self.backfill = BackfillBudget(self.settings.ws_backfill_per_minute)

    async def run(self) -> None:
        """Serve the connection until it closes; never raises."""
        try:
            await self._run()
        except Exception:
            log.exception("WebSocket %s failed", self.feed.route)
            await self._close((Close.INTERNAL, "internal error"))

    async def _close(self, outcome: Outcome) -> None:
        if outcome is None:
            return
        code, reason = outcome
        with contextlib.suppress(Exception):
            await self.ws.close(int(code), reason)

    async def _run(self) -> None:
        ip = getattr(self.req.context, "client_ip", None) or self.req.remote_addr or "unknown"
        await self.ws.accept()
        if self.query_error is not None:
            await self._close((Close.BAD_QUERY, self.query_error[:120]))
            return
        if not self.hub.reserve_ip(ip):
            await self._close((Close.TOO_MANY_CONNECTIONS, "too many connections from here"))
            return
        try:
            authenticated = await self._authenticate()
            if authenticated is None:
                return
            principal, credential = authenticated
            key = owner_key(principal)
            if not self.hub.reserve_user(key):
                await self._close((Close.TOO_MANY_CONNECTIONS, "too many connections"))
                return
            try:
                await self._serve(principal, credential)
            finally:
                self.hub.release_user(key)
        finally:
            self.hub.release_ip(ip)

    # -- authentication ------------------------------------------------------------------

    def _verify(self, auth: Auth) -> Principal:
        credentials = self.credentials
        if auth.token is not None:
            return credentials.bearer(auth.token)
        assert auth.api_key is not None
        return credentials.api_key(auth.api_key)

    async def _check(self, auth: Auth) -> tuple[Principal | None, Outcome]:
        """The principal of ``auth``, or the close it earns."""
        try:
            principal = await asyncio.to_thread(self._verify, auth)
        except Unauthenticated:
            return None, (Close.UNAUTHENTICATED, "invalid credentials")
        except Unavailable:
            return None, (Close.INTERNAL, "credentials cannot be checked now; retry later")
        if self.roles is None or principal.role not in self.roles:
            return None, (Close.FORBIDDEN, "your role may not use this feed")
        return principal, None

    async def _authenticate(self) -> tuple[Principal, Auth] | None:
        """Read and check the first message; closes the socket and returns None on failure."""
        try:
            text = await asyncio.wait_for(
                self.ws.receive_text(), self.settings.ws_auth_timeout_seconds
            )
            message = protocol.parse(text)
        except TimeoutError:
            await self._close((Close.UNAUTHENTICATED, "authentication timed out"))
            return None
        except falcon.WebSocketDisconnected:
            return None
        except (BadMessage, falcon.errors.PayloadTypeError):
            message = None
        if not isinstance(message, Auth):
            await self._close((Close.UNAUTHENTICATED, "the first message must be auth"))
            return None
        principal, refusal = await self._check(message)
        if principal is None:
            await self._close(refusal)
            return None
        return principal, message

    # -- the open connection -------------------------------------------------------------

    async def _serve(self, principal: Principal, credential: Auth) -> None:
        loop = asyncio.get_running_loop()
        client = Client(Outbox(self.settings.ws_queue_size), None)
        stop: asyncio.Future[tuple[int, str]] = loop.create_future()
        client.stop = stop
        client.outbox.put(
            frame(
                "auth_ok",
                {
                    "subject": principal.subject,
                    "role": principal.role.value,
                    "expires_at": principal.expires_at,
                    "heartbeat_seconds": self.settings.ws_heartbeat_seconds,
                },
            )
        )
        self.hub.add(client)
        tasks: list[asyncio.Future[Outcome]] = []
        try:
            await self._subscribe(client, self.initial)
            reader = asyncio.create_task(self._read(client))
            writer = asyncio.create_task(self._write(client))
            watchdog = asyncio.create_task(self._watch(client, principal, credential))
            tasks = [reader, writer, watchdog]
            waiting: list[asyncio.Future[Any]] = [*tasks, stop]
            done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            first = next(t for t in (stop, watchdog, reader, writer) if t in done)
            outcome = first.result()
            for running in (reader, watchdog):
                running.cancel()
            if outcome is not None and not writer.done():
                client.outbox.finish()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(writer), FLUSH_SECONDS)
            await self._close(outcome)
        finally:
            self.hub.remove(client)
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _write(self, client: Client) -> Outcome:
        while True:
            text = await client.outbox.get()
            if text is None:
                return None
            try:
                await self.ws.send_text(text)
            except falcon.WebSocketDisconnected:
                return None

    async def _read(self, client: Client) -> Outcome:
        bad = 0
        while True:
            try:
                text = await self.ws.receive_text()
                if not self.rate.allow():
                    client.outbox.put(protocol.error("message rate exceeded", "RATE_LIMITED"))
                    return Close.TOO_MANY_MESSAGES, "too many messages"
                await self._handle(client, protocol.parse(text))
                continue
            except falcon.WebSocketDisconnected:
                return None
            except falcon.errors.PayloadTypeError:
                problem = "binary frames are not accepted"
            except BadMessage as exc:
                problem = str(exc)
            bad += 1
            client.outbox.put(protocol.error(problem))
            if bad >= protocol.MAX_BAD_MESSAGES:
                return Close.TOO_MANY_BAD_MESSAGES, "too many invalid messages"

    async def _handle(self, client: Client, message: object) -> None:
        if isinstance(message, Ping):
            client.outbox.put(frame("pong", {} if message.id is None else {"id": message.id}))
        elif isinstance(message, Subscribe):
            await self._subscribe(client, message)
        elif isinstance(message, Unsubscribe):
            client.filter = None
            client.outbox.put(frame("unsubscribed"))
        else:
            raise BadMessage("already authenticated")

    async def _subscribe(self, client: Client, message: Subscribe) -> None:
        if message.types is not None and not self.feed.choose_types:
            raise BadMessage("types: this feed carries log.entry only")
        types = frozenset(message.types) if message.types else self.feed.default_types
        if message.backfill and EventType.LOG_ENTRY not in types:
            raise BadMessage("backfill: only with log.entry among the types")
        subscription = Filter(types, message.app, message.level)
        mark = client.outbox.mark()
        client.filter = subscription
        client.outbox.put(frame("subscribed", subscription.describe()))
        granted = self.backfill.take(message.backfill)
        if granted:
            await self._backfill(client, subscription, granted, mark)
        if granted < message.backfill:
            limit = self.backfill.per_minute
            text = f"backfill is limited to {limit} events a minute per socket; {granted} sent"
            client.outbox.put(protocol.error(text, code="BACKFILL_LIMITED"))

    async def _backfill(self, client: Client, subscription: Filter, count: int, mark: int) -> None:
        try:
            events = await asyncio.to_thread(
                recent_log_events, subscription.app, subscription.level, count
            )
        except Exception:
            log.exception("log backfill failed")
            client.outbox.put(protocol.error("log backfill failed", code="BACKFILL_FAILED"))
            return
        backfill = {"count": len(events), "events": [event.as_dict() for event in events]}
        # after the 'subscribed' frame, before any live event that arrived meanwhile
        client.outbox.insert_at(mark + 1, frame("backfill", backfill))

    async def _watch(self, client: Client, principal: Principal, credential: Auth) -> Outcome:
        loop = asyncio.get_running_loop()
        heartbeat = self.settings.ws_heartbeat_seconds
        recheck = self.settings.ws_recheck_seconds
        now = loop.time()
        expires = math.inf
        if principal.expires_at is not None:
            expires = now + (principal.expires_at - utcnow()).total_seconds()
        next_heartbeat, next_check = now + heartbeat, now + recheck
        while True:
            await asyncio.sleep(max(0.0, min(next_heartbeat, next_check, expires) - loop.time()))
            now = loop.time()
            if now >= expires:
                return Close.CREDENTIAL_ENDED, "token expired"
            if now >= next_check:
                current, refusal = await self._check(credential)
                if current is None:
                    assert refusal is not None
                    if refusal[0] == Close.UNAUTHENTICATED:
                        return Close.CREDENTIAL_ENDED, "credential revoked or no longer valid"
                    return refusal
                next_check = loop.time() + recheck
            if now >= next_heartbeat:
                client.outbox.put(frame("heartbeat"))
                next_heartbeat = now + heartbeat
