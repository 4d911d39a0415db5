"""Self-service API keys: ``dck_<prefix>_<secret>``, stored as prefix + Argon2id hash.

The public prefix finds the row, so a request costs at most one hash check; a
successful check is remembered (by SHA-256 of the key, for a minute) so a busy client
does not pay Argon2 on every call. Revocation is read from the row every time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
import threading
import time
from dataclasses import dataclass

from control.auth import passwords
from control.auth.models import ApiKey, User
from control.auth.principal import Principal
from control.auth.roles import Role, may_grant
from control.clock import utcnow
from control.db.database import write_transaction
from control.errors import Conflict, Forbidden, NotFound, Unauthenticated
from control.querying import Page, paginate

KEY_PATTERN = re.compile(r"^dck_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$")
VERIFIED_TTL = 60.0
LAST_USED_EVERY = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class NewKey:
    """A created key: the row, and the whole key shown to its owner exactly once."""

    row: ApiKey
    key: str


def _generate() -> tuple[str, str]:
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    prefix = "".join(secrets.choice(alphabet) for _ in range(12))
    return prefix, f"dck_{prefix}_{secrets.token_urlsafe(32)}"


def create_key(owner: User, name: str, role: Role | None, *, limit: int | None = None) -> NewKey:
    """Create a key for ``owner`` with ``role`` (default: the owner's), never above it.

    With ``limit``, an owner who already has that many keys (not revoked) gets Conflict:
    every key brings a fresh credential, and one person must not hold without bound.
    """
    wanted = role or owner.role
    if not may_grant(owner.role, wanted):
        raise Forbidden(f"A {owner.role.value} cannot create a {wanted.value} key.", field="role")
    prefix, key = _generate()
    key_hash = passwords.hash_secret(key)  # outside the transaction: Argon2 takes a while
    # the write lock up front, so that concurrent creations cannot all pass the count
    with write_transaction():
        if limit is not None and active_key_count(owner.id) >= limit:
            raise Conflict(
                f"You already have {limit} API keys, the most allowed; revoke one first."
            )
        row = ApiKey.create(prefix=prefix, key_hash=key_hash, name=name, role=wanted, user=owner)
    return NewKey(row, key)


def active_key_count(owner_id: int) -> int:
    """How many keys the owner holds that are not revoked."""
    return ApiKey.select().where(ApiKey.user == owner_id, ApiKey.revoked.is_null()).count()


def key_page(owner_id: int, page: int, per_page: int) -> Page:
    """One page of the owner's keys that are not revoked, newest first."""
    query = (
        ApiKey.select()
        .where(ApiKey.user == owner_id, ApiKey.revoked.is_null())
        .order_by(ApiKey.created.desc(), ApiKey.id.desc())
    )
    return paginate(query, page, per_page)


def create_for_caller(
    user_id: int, caller_role: Role, name: str, role: Role | None, *, limit: int
) -> NewKey:
    """A key for the calling user, whose token carries ``caller_role``.

    The token's role may lag the account's (a change takes effect at the next login):
    the default is the lesser of the two, and a wanted role must suit both.
    """
    owner = User.get_or_none(User.id == user_id)
    if owner is None:
        raise Forbidden("Only users have API keys.")
    default = caller_role if may_grant(owner.role, caller_role) else owner.role
    wanted = role or default
    if not may_grant(caller_role, wanted):
        raise Forbidden(f"A {caller_role.value} cannot create a {wanted.value} key.", field="role")
    return create_key(owner, name, wanted, limit=limit)


def revoke_key(owner_id: int, key_id: int) -> None:
    """Revoke one of the owner's keys (NotFound for another user's key)."""
    updated = (
        ApiKey.update(revoked=utcnow())
        .where(ApiKey.id == key_id, ApiKey.user == owner_id, ApiKey.revoked.is_null())
        .execute()
    )
    if not updated:
        raise NotFound(f"No API key with id {key_id}.")


class ApiKeyVerifier:
    """Turns an ``X-API-Key`` value into a principal."""

    def __init__(self) -> None:
        self._verified: dict[int, tuple[bytes, float]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def rate_key(presented: str) -> str:
        """The bucket for a presented key, derivable before any hashing."""
        match = KEY_PATTERN.match(presented)
        return f"key:{match.group(1)}" if match else "key:malformed"

    def _remembered(self, key_id: int, digest: bytes) -> bool:
        with self._lock:
            entry = self._verified.get(key_id)
        return bool(entry and entry[1] > time.monotonic() and hmac.compare_digest(entry[0], digest))

    def verify(self, presented: str) -> Principal:
        """The key's principal, or Unauthenticated (malformed, unknown, revoked, wrong)."""
        match = KEY_PATTERN.match(presented)
        if not match:
            raise Unauthenticated("Invalid credentials.")
        row = ApiKey.select(ApiKey, User).join(User).where(ApiKey.prefix == match.group(1)).first()
        if row is None or row.revoked is not None or row.user.disabled:
            raise Unauthenticated("Invalid credentials.")
        digest = hashlib.sha256(presented.encode()).digest()
        if not self._remembered(row.id, digest):
            if not passwords.verify_secret(row.key_hash, presented):
                raise Unauthenticated("Invalid credentials.")
            with self._lock:
                self._verified[row.id] = (digest, time.monotonic() + VERIFIED_TTL)
        if row.last_used is None or utcnow() - row.last_used > LAST_USED_EVERY:
            ApiKey.update(last_used=utcnow()).where(ApiKey.id == row.id).execute()
        # A key never outranks its owner: a demoted owner's keys are demoted with them.
        role = row.role if may_grant(row.user.role, row.role) else row.user.role
        return Principal(
            kind="api_key",
            subject=row.user.email,
            role=role,
            user_id=row.user_id,
            api_key_id=row.id,
        )
