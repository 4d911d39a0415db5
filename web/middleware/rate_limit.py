"""Fixed-window rate limits per client IP and per credential, before any authentication.

The spec: per IP 100 requests a minute in general and 10 a minute on the auth endpoints;
per token 1000 a minute (``DC_RATE_LIMIT_PER_MINUTE``, ``DC_AUTH_RATE_LIMIT_PER_MINUTE``,
``DC_TOKEN_RATE_LIMIT_PER_MINUTE``). Counters live in the key-value store, so every web
process shares them when Redis is configured.

Buckets (all one minute long):

- ``auth-ip:<ip>``: every request under ``/api/v1/auth/``, on top of the bucket below;
- ``cred:<sha256(token)[:32]>`` for a bearer token, ``key:<prefix>`` for an API key
  (``ApiKeyVerifier.rate_key``): a request presenting a credential. It is derived from
  the presented text only, so it is charged before any signature check or key hashing;
- ``ip:<ip>``: a request without a credential (an unsupported ``Authorization`` scheme
  counts as none).
- ``owner:<user:id|service:id>``: once authenticated, every request of one user across all
  their tokens and API keys, or of one service client across its tokens, against the
  per-token limit too (:meth:`RateLimitMiddleware.charge_owner`, called by
  :mod:`web.middleware.owner_rate_limit` after authentication): minting credentials does
  not multiply a person's budget.

A credential that then fails (the answer is 401, or a public route ignored it as
invalid) is charged to ``ip:<ip>`` as well, and counted in ``credfail-ip:<ip>``. A request
with a credential is refused while its address has both used up ``ip:<ip>`` and presented
a failing credential in this window: spraying made-up tokens from one address cannot get
around the per-IP limit, while valid tokens behind an address whose anonymous budget is
spent (a NAT, a busy health checker) keep their own per-token budget. Once an address is
refused for failing credentials, its valid tokens wait for the window to end too (they
cannot be told apart without verifying them, which is what this guards). The IP bucket
is only reported in the headers of a credentialed request when it is the one refusing it.

Every response except the static documentation assets (``/api/static/``) carries
``X-RateLimit-Limit``, ``X-RateLimit-Remaining`` and ``X-RateLimit-Reset`` (unix seconds)
of the most restrictive bucket that applied (the smallest remaining); a 429 adds
``Retry-After`` and answers in the API's error shape (code ``RATE_LIMITED``).

Outages: when the store raises ``Unavailable`` (Redis down), rate limiting fails OPEN.
The request goes through without rate-limit headers, a warning is logged at most once a
minute (with the number of requests let through meanwhile), and the store is not asked
again for a few seconds, so a black-holed Redis does not add its timeout to every request.
Rate limiting must not take the API down; authentication does not depend on this and
fails CLOSED on its own (the revocation check answers 503), and ``/api/v1/system/health``
reports the outage.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

import falcon.asgi

from control.auth.api_keys import ApiKeyVerifier
from control.errors import Unavailable
from control.kv import KeyValueStore
from web.errors import ApiError
from web.middleware.authentication import presented_credential
from web.wiring import LiveSettings

log = logging.getLogger(__name__)

WINDOW = 60  # seconds
AUTH_PREFIX = "/api/v1/auth/"
STATIC_PREFIX = "/api/static/"
WARN_EVERY = 60.0  # seconds between outage warnings
OUTAGE_BACKOFF = 5.0  # seconds the store is left alone after it failed
MESSAGE = "Too many requests; retry later."
_SLASHES = re.compile(r"/{2,}")

P = ParamSpec("P")
T = TypeVar("T")


@dataclass(slots=True)  # not frozen: a few are made on every request, and a frozen
class Usage:  # dataclass sets each field through object.__setattr__
    """One bucket after this request: its limit, count and window end."""

    limit: int
    count: int
    reset_at: int
    exceeded: bool

    @classmethod
    def charged(cls, limit: int, count: int, reset_at: int) -> Usage:
        """A bucket this request was counted in: over once the count passes the limit."""
        return cls(limit, count, reset_at, exceeded=count > limit)

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.count)

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_at),
        }


def _restrictive(usage: Usage) -> tuple[bool, int, int]:
    """Sort key of the bucket to report: a refusing one first (the longest wait), then the
    smallest remaining."""
    return (not usage.exceeded, usage.remaining, -usage.reset_at)


def credential_bucket(kind: str, value: str) -> str | None:
    """The bucket of a presented credential, or None when it is not one we key on."""
    if kind == "bearer":
        return "cred:" + hashlib.sha256(value.encode()).hexdigest()[:32]
    if kind == "api_key":
        return ApiKeyVerifier.rate_key(value)
    return None


class RateLimitMiddleware:
    """Counts each request in its buckets and answers 429 when one is over its limit."""

    def __init__(self, store: KeyValueStore, live: LiveSettings, key_header: str) -> None:
        self.live = live
        self.store = store
        self.key_header = key_header
        self._skip_until = 0.0
        self._last_warning = float("-inf")
        self._unlimited = 0  # requests let through since the last warning

    # The limits are read per request: an admin may change them at run time
    # (POST /api/v1/system/config), which replaces the live settings.

    @property
    def ip_limit(self) -> int:
        return self.live.settings.rate_limit_per_minute

    @property
    def auth_limit(self) -> int:
        return self.live.settings.auth_rate_limit_per_minute

    @property
    def token_limit(self) -> int:
        return self.live.settings.token_rate_limit_per_minute

    # -- the store, failing open ------------------------------------------------------

    def _store_down(self) -> bool:
        if time.monotonic() < self._skip_until:
            self._unlimited += 1
            return True
        return False

    def _outage(self, exc: Unavailable) -> None:
        now = time.monotonic()
        self._skip_until = now + OUTAGE_BACKOFF
        self._unlimited += 1
        if now - self._last_warning >= WARN_EVERY:
            log.warning(
                "rate limiting suspended, the key-value store is unavailable (%s); "
                "%d request(s) let through unlimited since the last warning",
                exc.message,
                self._unlimited,
            )
            self._last_warning = now
            self._unlimited = 0

    # -- counting (blocking store calls, run in a worker thread) ----------------------

    def _count(self, ip: str, path: str, credential: str | None) -> Usage:
        """Charge the request's buckets; the one to report (raises Unavailable)."""
        applied: list[Usage] = []
        # "auth/" survives the slashes' collapsing: most paths are told apart without it
        if "auth/" in path and _SLASHES.sub("/", path).startswith(AUTH_PREFIX):
            window = self.store.hit(f"auth-ip:{ip}", WINDOW)
            applied.append(Usage.charged(self.auth_limit, window.count, window.reset_at))
        if credential is None:
            window = self.store.hit(f"ip:{ip}", WINDOW)
            applied.append(Usage.charged(self.ip_limit, window.count, window.reset_at))
        else:
            window = self.store.hit(credential, WINDOW)
            applied.append(Usage.charged(self.token_limit, window.count, window.reset_at))
            # Not counted, only checked: an address out of budget that has presented
            # failing credentials is refused whatever it presents next.
            if self.store.peek(f"credfail-ip:{ip}", WINDOW).count:
                gate = self.store.peek(f"ip:{ip}", WINDOW)
                if gate.count >= self.ip_limit:
                    applied.append(Usage(self.ip_limit, gate.count, gate.reset_at, exceeded=True))
        return min(applied, key=_restrictive)

    def _charge_failure(self, ip: str) -> None:
        self.store.hit(f"credfail-ip:{ip}", WINDOW)
        self.store.hit(f"ip:{ip}", WINDOW)

    async def _off_loop(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Call the store: in a worker thread when it may wait on the network (Redis),
        else directly (the in-process store: a thread hand-off costs far more)."""
        if self.store.blocking:
            return await asyncio.to_thread(fn, *args, **kwargs)
        return fn(*args, **kwargs)

    # -- middleware ----------------------------------------------------------------------

    async def process_request(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        req.context.rate_limit_usage = None
        req.context.rate_limit_credential = False
        if req.path.startswith(STATIC_PREFIX) or self._store_down():
            return
        ip = getattr(req.context, "client_ip", None) or req.remote_addr or "unknown"
        presented = presented_credential(req, self.key_header)
        credential = credential_bucket(*presented) if presented else None
        req.context.rate_limit_credential = credential is not None
        try:
            usage = await self._off_loop(self._count, ip, req.path, credential)
        except Unavailable as exc:
            self._outage(exc)
            return
        self._apply(req, usage)

    async def charge_owner(self, req: falcon.asgi.Request, owner: str) -> None:
        """Charge an authenticated request to its owner's budget (``owner:<who>``): every
        token and key of one user, or of one service client, shares it."""
        previous: Usage | None = getattr(req.context, "rate_limit_usage", None)
        if previous is None or self._store_down():
            return  # not counted before authentication (static, outage): not now either
        try:
            window = await self._off_loop(self.store.hit, f"owner:{owner}", WINDOW)
        except Unavailable as exc:
            self._outage(exc)
            return
        usage = Usage.charged(self.token_limit, window.count, window.reset_at)
        self._apply(req, min(previous, usage, key=_restrictive))

    @staticmethod
    def _apply(req: falcon.asgi.Request, usage: Usage) -> None:
        """Keep ``usage`` to report in the response headers; answer 429 when it is
        exceeded."""
        req.context.rate_limit_usage = usage
        if usage.exceeded:
            retry_after = max(1, usage.reset_at - int(time.time()))
            raise ApiError(
                429,
                MESSAGE,
                code="RATE_LIMITED",
                headers={**usage.headers(), "Retry-After": str(retry_after)},
            )

    async def process_response(
        self,
        req: falcon.asgi.Request,
        resp: falcon.asgi.Response,
        resource: object,
        req_succeeded: bool,
    ) -> None:
        usage: Usage | None = getattr(req.context, "rate_limit_usage", None)
        if usage is not None:
            resp.set_headers(usage.headers())
        if getattr(req.context, "rate_limit_credential", False) and self._failed_credential(
            req, resp
        ):
            if time.monotonic() < self._skip_until:
                return  # the store is down: nothing to charge (not another request)
            ip = getattr(req.context, "client_ip", None) or req.remote_addr or "unknown"
            try:
                await self._off_loop(self._charge_failure, ip)
            except Unavailable as exc:
                self._outage(exc)

    @staticmethod
    def _failed_credential(req: falcon.asgi.Request, resp: falcon.asgi.Response) -> bool:
        """The presented credential did not authenticate: a 401, or a public route that
        answered without a principal (it ignores an invalid credential)."""
        status = resp.status_code
        if status == 401:
            return True
        if status >= 400 or req.method == "OPTIONS":
            return False
        return getattr(req.context, "principal", "unset") is None
