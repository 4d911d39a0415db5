"""Principals of recently verified bearer tokens, kept for a few seconds.

Verifying a bearer token costs two round trips: the revocation check (Redis or the
database) and the account lookup (its state and role, in the database). A
:class:`PrincipalCache` keeps what a token resolved to for at most
``DC_PRINCIPAL_CACHE_SECONDS`` (never past the token's own expiry), so a client's burst
of requests verifies its token once; a refused token is never kept.

The bound (docs/security.md): a revocation, a disabled account or a changed role made in
this process empties every cache of the process at once (:func:`forget_all`, called by
the revocation stores and the account changes); one made in another process (another
web replica, ``dcctl``) takes effect here within ``DC_PRINCIPAL_CACHE_SECONDS``, as each
replica verifies every token again once its entry is that old. 0 turns the cache off.
"""

from __future__ import annotations

import hashlib
import threading
import time
import weakref

from cachetools import TLRUCache

from control.auth.principal import Principal
from control.clock import utcnow

MAX_ENTRIES = 10_000  # tokens; the least recently used goes first past it

_caches: weakref.WeakSet[PrincipalCache] = weakref.WeakSet()
_caches_lock = threading.Lock()


def _key(token: str) -> bytes:
    # a digest, so the cache holds no usable credential
    return hashlib.blake2b(token.encode(), digest_size=20).digest()


class PrincipalCache:
    """Bearer token -> principal, each entry for at most ``seconds``; thread-safe."""

    def __init__(self, seconds: float, max_entries: int = MAX_ENTRIES) -> None:
        self.seconds = seconds
        self._lock = threading.Lock()
        self._entries: TLRUCache[bytes, Principal] = TLRUCache(
            maxsize=max_entries, ttu=self._until, timer=time.monotonic
        )
        with _caches_lock:
            _caches.add(self)

    def _until(self, _key: bytes, principal: Principal, now: float) -> float:
        lifetime = self.seconds
        if principal.expires_at is not None:
            lifetime = min(lifetime, (principal.expires_at - utcnow()).total_seconds())
        return now + lifetime

    def get(self, token: str) -> Principal | None:
        """The principal ``token`` resolved to within the bound, or None."""
        if self.seconds <= 0:
            return None
        with self._lock:
            return self._entries.get(_key(token))

    def put(self, token: str, principal: Principal) -> None:
        """Keep what ``token`` resolved to (just verified) for the bound."""
        if self.seconds <= 0:
            return
        with self._lock:
            self._entries[_key(token)] = principal

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def forget_all() -> None:
    """Empty every principal cache of this process: something revoked a credential or
    changed an account, and this process must not answer from before it."""
    with _caches_lock:
        caches = list(_caches)
    for cache in caches:
        cache.clear()
