"""Building the session service from settings, the same way in every process.

The web process and ``dcctl`` must agree on where revocations live, or a session the
command line ends would stay alive in the API: Redis (with a TTL) when ``DC_REDIS_URL``
is set, the ``revoked_token`` table otherwise.
"""

from __future__ import annotations

from control.auth.revocation import (
    DatabaseRevocationStore,
    KeyValueRevocationStore,
    RevocationStore,
)
from control.auth.sessions import SessionService
from control.auth.tokens import TokenService
from control.kv import KeyValueStore, build_store
from control.settings import Settings


def build_revocation_store(settings: Settings, store: KeyValueStore) -> RevocationStore:
    """Revocations in ``store`` when Redis is configured, else in the database table."""
    return KeyValueRevocationStore(store) if settings.redis_url else DatabaseRevocationStore()


def build_session_service(settings: Settings, store: KeyValueStore | None = None) -> SessionService:
    """Tokens, revocations and login throttling wired from ``settings``.

    ``store`` defaults to the one ``DC_REDIS_URL`` selects (in-process memory when unset);
    the service's ``tokens``, ``revocations`` and ``store`` are there for other users.
    """
    store = store or build_store(settings.redis_url)
    return SessionService(TokenService(settings), build_revocation_store(settings, store), store)
