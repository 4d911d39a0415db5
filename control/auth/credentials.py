"""Turning a request's credential (Bearer JWT or API key) into a principal."""

from __future__ import annotations

import logging

from control.auth.api_keys import ApiKeyVerifier
from control.auth.models import ServiceClient, User
from control.auth.principal import Principal
from control.auth.revocation import RevocationStore
from control.auth.tokens import InvalidToken, TokenService
from control.db.database import database
from control.errors import Unauthenticated

log = logging.getLogger(__name__)


class CredentialVerifier:
    """Verifies bearer tokens (signature, claims, revocation, account state) and keys."""

    def __init__(
        self, tokens: TokenService, revocations: RevocationStore, keys: ApiKeyVerifier
    ) -> None:
        self.tokens = tokens
        self.revocations = revocations
        self.keys = keys

    def bearer(self, token: str) -> Principal:
        """The principal of an access token; Unauthenticated for anything else."""
        try:
            claims = self.tokens.verify(token, "access")
        except InvalidToken as exc:
            log.info("token refused: %s", exc)
            raise Unauthenticated("Invalid or expired token.") from None
        # Fails closed: an unreachable revocation list raises Unavailable (503).
        if self.revocations.any_revoked(claims.token_id, f"sid:{claims.session_id}"):
            raise Unauthenticated("Invalid or expired token.")
        with database.connection_context():
            if claims.subject_type == "user":
                user = User.get_or_none(User.email == claims.subject)
                if user is None or user.disabled:
                    raise Unauthenticated("Invalid or expired token.")
                ids, role = {"user_id": user.id}, user.role
            else:
                client = ServiceClient.get_or_none(ServiceClient.client_id == claims.subject)
                if client is None or client.disabled:
                    raise Unauthenticated("Invalid or expired token.")
                ids, role = {"client_id": client.id}, client.role
        return Principal(
            kind=claims.subject_type,
            subject=claims.subject,
            # the account's role now, not the claim's: a demotion takes effect at once
            # even if revoking the old sessions failed
            role=role,
            token_id=claims.token_id,
            session_id=claims.session_id,
            expires_at=claims.expires_at,
            **ids,
        )

    def api_key(self, presented: str) -> Principal:
        """The principal of an API key; Unauthenticated for anything else."""
        with database.connection_context():
            return self.keys.verify(presented)
