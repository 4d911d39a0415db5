"""The collaborators the web process shares, built once from settings."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from control.auth.api_keys import ApiKeyVerifier
from control.auth.credentials import CredentialVerifier
from control.auth.revocation import (
    DatabaseRevocationStore,
    KeyValueRevocationStore,
    RevocationStore,
)
from control.auth.sessions import SessionService
from control.auth.tokens import TokenService
from control.kv import KeyValueStore, build_store
from control.settings import Settings


@dataclass
class Services:
    """Everything resources and middleware need besides the request."""

    settings: Settings
    store: KeyValueStore
    revocations: RevocationStore
    tokens: TokenService
    sessions: SessionService
    credentials: CredentialVerifier
    started: float = field(default_factory=time.time)


def build_services(settings: Settings, store: KeyValueStore | None = None) -> Services:
    """Wire the services: Redis-backed when ``DC_REDIS_URL`` is set, else in-process/DB."""
    store = store or build_store(settings.redis_url)
    revocations: RevocationStore = (
        KeyValueRevocationStore(store) if settings.redis_url else DatabaseRevocationStore()
    )
    tokens = TokenService(settings)
    return Services(
        settings=settings,
        store=store,
        revocations=revocations,
        tokens=tokens,
        sessions=SessionService(tokens, revocations, store),
        credentials=CredentialVerifier(tokens, revocations, ApiKeyVerifier()),
    )
