"""Revoked token ids, checked on every bearer token verified (a verified token's principal
is then kept for ``DC_PRINCIPAL_CACHE_SECONDS``: control/auth/principal_cache.py).

Redis (with a TTL to the token's expiry) when configured, else the ``revoked_token``
table (cleaned up periodically). Either raises ``Unavailable`` when it cannot answer,
and authentication then fails closed.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from peewee import PeeweeException

from control.auth.models import RevokedToken
from control.auth.principal_cache import forget_all
from control.clock import utcnow
from control.db.database import database
from control.errors import Unavailable
from control.kv.interface import KeyValueStore


class RevocationStore(Protocol):
    """Where revoked token and session ids are kept until they would expire anyway."""

    def revoke(self, token_id: str, expires: dt.datetime) -> None:
        """Revoke ``token_id`` (a jti, or ``sid:<session>``) until ``expires``."""
        ...

    def any_revoked(self, *token_ids: str) -> bool:
        """Whether any of the ids is revoked."""
        ...


class KeyValueRevocationStore:
    """Revocations as expiring flags in the key-value store (Redis in production)."""

    def __init__(self, store: KeyValueStore) -> None:
        self._store = store

    def revoke(self, token_id: str, expires: dt.datetime) -> None:
        ttl = int((expires - utcnow()).total_seconds()) + 1
        if ttl > 0:
            self._store.set_flag(f"revoked:{token_id}", ttl)
        forget_all()

    def any_revoked(self, *token_ids: str) -> bool:
        return any(self._store.has_flag(f"revoked:{tid}") for tid in token_ids)


class DatabaseRevocationStore:
    """Revocations in the ``revoked_token`` table, shared by processes on one database."""

    def revoke(self, token_id: str, expires: dt.datetime) -> None:
        try:
            with database.connection_context():
                (
                    RevokedToken.insert(jti=token_id, expires=expires)
                    .on_conflict(
                        conflict_target=[RevokedToken.jti],
                        update={RevokedToken.expires: expires},
                    )
                    .execute()
                )
        except PeeweeException as exc:
            raise Unavailable("The revocation list is unreachable.") from exc
        forget_all()

    def any_revoked(self, *token_ids: str) -> bool:
        try:
            with database.connection_context():
                return (
                    RevokedToken.select()
                    .where(RevokedToken.jti.in_(token_ids), RevokedToken.expires > utcnow())
                    .exists()
                )
        except PeeweeException as exc:
            raise Unavailable("The revocation list is unreachable.") from exc


def purge_expired(batch: int = 1000) -> int:
    """Delete expired revocations in bounded batches (under MSSQL's 2,100-parameter limit)."""
    removed = 0
    while True:
        ids = [
            r.jti
            for r in RevokedToken.select(RevokedToken.jti)
            .where(RevokedToken.expires <= utcnow())
            .limit(batch)
        ]
        if not ids:
            return removed
        removed += RevokedToken.delete().where(RevokedToken.jti.in_(ids)).execute()
