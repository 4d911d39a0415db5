"""Who is calling: the identity every authorised request carries."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from control.auth.roles import Role

PrincipalKind = Literal["user", "service", "api_key"]


@dataclass(frozen=True)
class Principal:
    """An authenticated caller.

    ``subject`` is the email, client id or key prefix; ``rate_key`` identifies the
    credential for per-token rate limits; token fields are None for API keys.
    """

    kind: PrincipalKind
    subject: str
    role: Role
    user_id: int | None = None
    client_id: int | None = None
    api_key_id: int | None = None
    token_id: str | None = None
    session_id: str | None = None
    expires_at: dt.datetime | None = None

    @property
    def rate_key(self) -> str:
        return f"{self.kind}:{self.api_key_id or self.token_id or self.subject}"

    @property
    def owner(self) -> str:
        """Who stands behind the credential: a user's tokens and keys all count as theirs."""
        if self.user_id is not None:
            return f"user:{self.user_id}"
        if self.client_id is not None:
            return f"service:{self.client_id}"
        return f"{self.kind}:{self.subject}"
