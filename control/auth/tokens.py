"""JWT access and refresh tokens: issue and verify with pinned algorithms.

Claims are the spec's (``sub``, ``role``, ``type``, ``exp``, ``iss``, ``jti``) plus ``iat``,
``aud``, ``sid`` (the login session, so revoking a session kills its access tokens) and
``use`` (access or refresh). Refresh tokens carry a different audience, so neither kind
can stand in for the other even if the ``use`` check were forgotten.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any, Literal

import jwt

from control.auth.roles import Role
from control.errors import ConfigurationError
from control.settings import Settings

REQUIRED = ["exp", "iat", "iss", "aud", "sub", "jti"]
LEEWAY_SECONDS = 30

TokenUse = Literal["access", "refresh"]
SubjectType = Literal["user", "service"]


class InvalidToken(Exception):
    """Raised for any token that must not be honoured; the reason is for logs only."""


@dataclass(frozen=True)
class TokenClaims:
    """The verified claims of a token."""

    subject: str
    role: Role
    subject_type: SubjectType
    use: TokenUse
    token_id: str
    session_id: str
    issued_at: dt.datetime
    expires_at: dt.datetime


@dataclass(frozen=True)
class IssuedToken:
    """A signed token and its identifiers."""

    token: str
    token_id: str
    expires_at: dt.datetime


def new_id() -> str:
    """A random, URL-safe identifier (128 bits)."""
    return secrets.token_urlsafe(16)


class TokenService:
    """Signs and verifies the API's JWTs with the configured key material."""

    def __init__(self, settings: Settings) -> None:
        self.algorithm = settings.jwt_algorithm
        self.issuer = settings.jwt_issuer
        self.audience = settings.jwt_audience
        self.access_lifetime = dt.timedelta(minutes=settings.jwt_expiry_minutes)
        self.refresh_lifetime = dt.timedelta(days=settings.refresh_expiry_days)
        if self.algorithm == "HS256":
            secret = settings.jwt_secret.get_secret_value().encode()
            self._signing_key: Any = secret
            self._verify_key: Any = secret
        else:
            private, public = settings.jwt_private_key_file, settings.jwt_public_key_file
            if private is None or public is None:
                raise ConfigurationError("RS256 needs DC_JWT_PRIVATE_KEY_FILE and ..._PUBLIC_...")
            try:
                self._signing_key = private.read_bytes()
                self._verify_key = public.read_bytes()
            except OSError as exc:
                raise ConfigurationError(f"cannot read the JWT key files: {exc.strerror}") from None

    def _audience(self, use: TokenUse) -> str:
        return self.audience if use == "access" else f"{self.audience}:refresh"

    def issue(
        self,
        *,
        subject: str,
        role: Role,
        subject_type: SubjectType,
        use: TokenUse,
        session_id: str,
        now: dt.datetime | None = None,
    ) -> IssuedToken:
        """Sign a new token of kind ``use`` for ``subject``."""
        issued = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
        expires = issued + (self.access_lifetime if use == "access" else self.refresh_lifetime)
        token_id = new_id()
        claims = {
            "sub": subject,
            "role": role.value,
            "type": subject_type,
            "use": use,
            "sid": session_id,
            "iss": self.issuer,
            "aud": self._audience(use),
            "iat": int(issued.timestamp()),
            "exp": int(expires.timestamp()),
            "jti": token_id,
        }
        token = jwt.encode(claims, self._signing_key, algorithm=self.algorithm)
        return IssuedToken(token, token_id, expires.replace(tzinfo=None))

    def verify(self, token: str, use: TokenUse) -> TokenClaims:
        """The claims of a valid token of kind ``use``; InvalidToken otherwise."""
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") != self.algorithm:
                raise InvalidToken(f"algorithm {header.get('alg')!r} not accepted")
            claims = jwt.decode(
                token,
                self._verify_key,
                algorithms=[self.algorithm],
                audience=self._audience(use),
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": REQUIRED, "verify_signature": True, "strict_aud": True},
            )
            if claims.get("use") != use:
                raise InvalidToken("wrong token use")
            if claims.get("type") not in ("user", "service"):
                raise InvalidToken("unknown subject type")
            return TokenClaims(
                subject=str(claims["sub"]),
                role=Role(claims["role"]),
                subject_type=claims["type"],
                use=use,
                token_id=str(claims["jti"]),
                session_id=str(claims.get("sid") or claims["jti"]),
                issued_at=dt.datetime.fromtimestamp(claims["iat"], dt.UTC).replace(tzinfo=None),
                expires_at=dt.datetime.fromtimestamp(claims["exp"], dt.UTC).replace(tzinfo=None),
            )
        except InvalidToken:
            raise
        except (jwt.PyJWTError, KeyError, ValueError, TypeError) as exc:
            raise InvalidToken(type(exc).__name__) from None
