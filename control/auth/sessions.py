"""Logins, refresh-token rotation, client credentials and logout.

A login starts a session (a refresh-token family). Each refresh uses its token once
and issues a new pair in the same family; a second use of a used token is taken as
theft and revokes the whole family, access tokens included (they carry ``sid``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass

from control.audit import services as audit
from control.auth import passwords
from control.auth.models import RefreshToken, ServiceClient, User
from control.auth.principal import Principal
from control.auth.revocation import RevocationStore
from control.auth.tokens import InvalidToken, IssuedToken, TokenService, new_id
from control.db.database import database
from control.db.models import utcnow
from control.errors import Throttled, Unauthenticated
from control.kv.interface import KeyValueStore

log = logging.getLogger(__name__)

FAILURE_WINDOW = 15 * 60
FAILURES_PER_ACCOUNT = 5
FAILURES_PER_IP = 20
GENERIC_FAILURE = "Invalid credentials."


@dataclass(frozen=True)
class TokenPair:
    """What a login or refresh returns."""

    access: IssuedToken
    refresh: IssuedToken | None
    role: str


class SessionService:
    """Issues and ends sessions; collaborators are injected by the app factory."""

    def __init__(
        self, tokens: TokenService, revocations: RevocationStore, store: KeyValueStore
    ) -> None:
        self.tokens = tokens
        self.revocations = revocations
        self.store = store

    # -- throttling ---------------------------------------------------------------

    def _failure_key(self, kind: str, name: str) -> str:
        digest = hashlib.sha256(name.strip().lower().encode()).hexdigest()[:32]
        return f"authfail:{kind}:{digest}"

    def _check_throttle(self, key: str, ip: str | None) -> None:
        checks = [(key, FAILURES_PER_ACCOUNT)]
        if ip:
            checks.append((self._failure_key("ip", ip), FAILURES_PER_IP))
        for name, limit in checks:
            window = self.store.peek(name, FAILURE_WINDOW)
            if window.count >= limit:
                now = int(dt.datetime.now(dt.UTC).timestamp())
                raise Throttled(
                    "Too many failed attempts; try again later.",
                    retry_after=max(1, window.reset_at - now),
                )

    def _fail(self, key: str, action: str, who: str, ip: str | None) -> Unauthenticated:
        self.store.hit(key, FAILURE_WINDOW)
        if ip:
            self.store.hit(self._failure_key("ip", ip), FAILURE_WINDOW)
        audit.record(action, outcome="failed", actor=who, ip=ip, summary={"reason": "credentials"})
        # the name typed may be a password typed in the wrong field: log only a tag of it
        log.info("%s for account #%s from %s", action, key.rsplit(":", 1)[-1][:8], ip)
        return Unauthenticated(GENERIC_FAILURE)

    # -- flows --------------------------------------------------------------------

    def login(self, email: str, password: str, ip: str | None) -> TokenPair:
        """Check email and password; start a session (same answer for unknown users)."""
        key = self._failure_key("user", email)
        self._check_throttle(key, ip)
        with database.connection_context():
            user = User.get_or_none(User.email == email.strip().lower())
            valid = passwords.verify_secret(user.password_hash if user else None, password)
            if user is None or not valid or user.disabled:
                raise self._fail(key, "auth.login_failed", email[:254], ip)
            if passwords.needs_rehash(user.password_hash):
                user.password_hash = passwords.hash_secret(password)
            user.last_login = utcnow()
            user.save()
            pair = self._start_session(user)
        audit.record(
            "auth.login",
            outcome="success",
            actor=user.email,
            actor_type="user",
            role=user.role.value,
            ip=ip,
        )
        return pair

    def _start_session(self, user: User, family: str | None = None) -> TokenPair:
        session = family or new_id()
        access = self.tokens.issue(
            subject=user.email,
            role=user.role,
            subject_type="user",
            use="access",
            session_id=session,
        )
        refresh = self.tokens.issue(
            subject=user.email,
            role=user.role,
            subject_type="user",
            use="refresh",
            session_id=session,
        )
        RefreshToken.create(
            jti=refresh.token_id, family=session, user=user, expires=refresh.expires_at
        )
        return TokenPair(access, refresh, user.role.value)

    def refresh(self, token: str, ip: str | None) -> TokenPair:
        """Use a refresh token once and rotate it; reuse revokes its whole family."""
        try:
            claims = self.tokens.verify(token, "refresh")
        except InvalidToken as exc:
            log.info("refresh refused: %s", exc)
            raise Unauthenticated(GENERIC_FAILURE) from None
        now = utcnow()
        with database.connection_context(), database.atomic():
            won = (
                RefreshToken.update(used=now)
                .where(
                    RefreshToken.jti == claims.token_id,
                    RefreshToken.used.is_null(),
                    RefreshToken.revoked == False,  # noqa: E712 - SQL comparison
                    RefreshToken.expires > now,
                )
                .execute()
            )
            row = RefreshToken.get_or_none(RefreshToken.jti == claims.token_id)
            if won != 1 or row is None:
                reused = row is not None and row.used is not None
                family = row.family if row is not None else None
            else:
                user = User.get_by_id(row.user_id)
                if user.disabled:
                    raise Unauthenticated(GENERIC_FAILURE)
                return self._start_session(user, family=row.family)
        if reused and family:
            self.revoke_sessions([family])
            audit.record(
                "auth.refresh_reuse",
                outcome="denied",
                actor=claims.subject,
                actor_type="user",
                ip=ip,
                summary={"session": family},
            )
            log.warning("refresh token reuse detected; session revoked")
        raise Unauthenticated(GENERIC_FAILURE)

    def service_token(self, client_id: str, secret: str, ip: str | None) -> TokenPair:
        """OAuth2 client credentials: an access token, no refresh token."""
        key = self._failure_key("client", client_id)
        self._check_throttle(key, ip)
        now = utcnow()
        with database.connection_context():
            client = ServiceClient.get_or_none(ServiceClient.client_id == client_id)
            valid = passwords.verify_secret(client.secret_hash if client else None, secret)
            if (
                client is not None
                and not valid
                and client.previous_secret_hash
                and (client.previous_secret_expires and client.previous_secret_expires > now)
            ):
                valid = passwords.verify_secret(client.previous_secret_hash, secret)
            if client is None or not valid or client.disabled:
                raise self._fail(key, "auth.service_failed", client_id[:254], ip)
            client.last_used = now
            client.save()
        access = self.tokens.issue(
            subject=client.client_id,
            role=client.role,
            subject_type="service",
            use="access",
            session_id=new_id(),
        )
        audit.record(
            "auth.service",
            outcome="success",
            actor=client.client_id,
            actor_type="service",
            role=client.role.value,
            ip=ip,
        )
        return TokenPair(access, None, client.role.value)

    def logout(self, principal: Principal) -> None:
        """End the caller's session: its access token and its refresh family."""
        if principal.token_id and principal.expires_at:
            self.revocations.revoke(principal.token_id, principal.expires_at)
        if principal.session_id:
            self.revoke_sessions([principal.session_id])

    def revoke_sessions(self, families: list[str]) -> None:
        """Revoke sessions: their refresh tokens and every access token they issued."""
        until = utcnow() + self.tokens.access_lifetime + dt.timedelta(minutes=1)
        for family in families:
            self.revocations.revoke(f"sid:{family}", until)
        with database.connection_context():
            RefreshToken.update(revoked=True).where(RefreshToken.family.in_(families)).execute()

    def revoke_user_sessions(self, user: User) -> int:
        """Revoke every live session of ``user`` (disable, password or role change)."""
        with database.connection_context():
            families = [
                r.family
                for r in RefreshToken.select(RefreshToken.family)
                .where(
                    RefreshToken.user == user,
                    RefreshToken.expires > utcnow(),
                    RefreshToken.revoked == False,  # noqa: E712 - SQL comparison
                )
                .distinct()
            ]
        if families:
            self.revoke_sessions(families)
        return len(families)
