"""Turning a request's credential (Bearer JWT or API key) into a principal."""

from __future__ import annotations

import logging

from control.auth.api_keys import ApiKeyVerifier
from control.auth.models import ServiceClient, User
from control.auth.principal import Principal
from control.auth.principal_cache import PrincipalCache
from control.auth.revocation import RevocationStore
from control.auth.tokens import InvalidToken, TokenService
from control.db.database import database
from control.errors import Unauthenticated

log = logging.getLogger(__name__)


class CredentialVerifier:
    """Verifies bearer tokens (signature, claims, revocation, account state) and keys.

    With a :class:`PrincipalCache`, a bearer token verified a moment ago is not verified
    again until its entry is ``DC_PRINCIPAL_CACHE_SECONDS`` old (the bound is in
    control/auth/principal_cache.py and docs/security.md).
    """

    def __init__(
        self,
        tokens: TokenService,
        revocations: RevocationStore,
        keys: ApiKeyVerifier,
        cache: PrincipalCache | None = None,
    ) -> None:
        self.tokens = tokens
        self.revocations = revocations
        self.keys = keys
        self.cache = cache or PrincipalCache(0)

    def cached_bearer(self, token: str) -> Principal | None:
        """The principal ``token`` was verified to within the cache's bound, or None.
        No I/O: the event loop may call it."""
        return self.cache.get(token)

    def bearer(self, token: str) -> Principal:
        """The principal of an access token; Unauthenticated for anything else."""
        principal = self.cache.get(token)
        if principal is None:
            principal = self._verify_bearer(token)
            self.cache.put(token, principal)
        return principal

    def _verify_bearer(self, token: str) -> Principal:
        try:
            claims = self.tokens.verify(token, "access")
        except InvalidToken as exc:
            log.info("token refused: %s", exc)
            raise Unauthenticated("Invalid or expired token.") from None
        # One connection for the revocation list (when it is the table) and the account.
        with database.connection_context():
            # Fails closed: an unreachable revocation list raises Unavailable (503).
            if self.revocations.any_revoked(claims.token_id, f"sid:{claims.session_id}"):
                raise Unauthenticated("Invalid or expired token.")
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
