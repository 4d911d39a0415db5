"""Argon2id hashing for passwords, client secrets and API keys.

Parameters are at or above the OWASP minimum (m=19 MiB, t=2, p=1); a hash made with
weaker parameters is re-made on the next successful check.
"""

from __future__ import annotations

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from control.errors import InvalidInput

MIN_PASSWORD = 8
MAX_PASSWORD = 1024  # long passphrases welcome; bounded so hashing cannot be abused

hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, type=Type.ID)

# Checked against when the account does not exist, so that an unknown user costs the
# same time as a wrong password.
_DUMMY_HASH = hasher.hash("not-a-real-password-0")


def check_password_policy(password: str) -> None:
    """Refuse passwords shorter than 8 or longer than 1024 characters."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidInput(
            f"Password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters.", field="password"
        )


def hash_secret(secret: str) -> str:
    """An Argon2id hash of ``secret`` (the whole of it: nothing is truncated)."""
    return hasher.hash(secret)


def verify_secret(stored_hash: str | None, secret: str) -> bool:
    """Constant-work check of ``secret`` against ``stored_hash`` (None: a dummy check)."""
    try:
        return hasher.verify(stored_hash or _DUMMY_HASH, secret) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """Whether the hash was made with other parameters than the current ones."""
    return hasher.check_needs_rehash(stored_hash)
