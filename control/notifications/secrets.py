"""Channel secrets encrypted at rest with a key derived from ``DC_JWT_SECRET``.

Fernet (AES-128-CBC + HMAC-SHA256) under a key from HKDF-SHA256 of the JWT secret, so
the database alone (a backup, a read replica) does not reveal bot tokens, SMTP
passwords or webhook secrets. Changing ``DC_JWT_SECRET`` makes stored secrets
unreadable: re-enter them (PATCH each channel's secret).
"""

from __future__ import annotations

import base64
from functools import lru_cache

import orjson
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

INFO = b"data-collector notification channel secrets v1"


class SecretsUnreadable(Exception):
    """Raised when stored secrets do not decrypt (the JWT secret changed)."""


class SecretBox:
    """Seals and opens a channel's secret fields."""

    def __init__(self, key_material: bytes) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=INFO).derive(key_material)
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def seal(self, values: dict[str, str]) -> str | None:
        """The token holding ``values``; None when there is nothing to keep."""
        if not values:
            return None
        return self._fernet.encrypt(orjson.dumps(values)).decode()

    def open(self, token: str | None) -> dict[str, str]:
        """The values sealed in ``token`` (empty for None)."""
        if not token:
            return {}
        try:
            values: dict[str, str] = orjson.loads(self._fernet.decrypt(token.encode()))
            return values
        except (InvalidToken, orjson.JSONDecodeError):
            raise SecretsUnreadable("channel secrets cannot be decrypted") from None


@lru_cache(maxsize=4)
def _box(key_material: bytes) -> SecretBox:
    return SecretBox(key_material)


def default_box() -> SecretBox:
    """The box keyed by this process's ``DC_JWT_SECRET``."""
    from control.settings import get_settings

    return _box(get_settings().jwt_secret.get_secret_value().encode())
