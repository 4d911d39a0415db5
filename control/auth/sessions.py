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
from control.audit.context import Actor, AuditContext
from control.auth import passwords
from control.auth.models import RefreshToken, ServiceClient, User
from control.auth.principal import Principal
from control.auth.revocation import RevocationStore
from control.auth.tokens import InvalidToken, IssuedToken, TokenService, new_id
from control.clock import utcnow
from control.db.database import database, write_transaction
from control.errors import Throttled, Unauthenticated
from control.kv.interface import KeyValueStore

log = logging.getLogger(__name__)

# Failed logins are throttled per (account, source address), never per account alone:
# a flood of wrong passwords from elsewhere must not lock the owner out of their account.
FAILURE_WINDOW = 15 * 60
FAILURES_PER_ACCOUNT_IP = 5  # one address guessing one account's password
FAILURES_PER_IP = 20  # one address guessing any accounts' passwords
# An account that failed this often in the window (from anywhere) is under attack: an
# address that has already failed for it is refused, one that has not (its owner at their
# usual place) still gets in. A distributed guesser gets one try per address, not five.
ACCOUNT_UNDER_ATTACK = 20
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

    @staticmethod
    def _digest(text: str) -> str:
        return hashlib.sha256(text.strip().lower().encode()).hexdigest()[:32]

    def _failure_keys(self, kind: str, name: str, ip: str | None) -> tuple[str, str, str]:
        """The counters of one attempt: (account, account from this address, address)."""
        account = f"authfail:{kind}:{self._digest(name)}"
        address = self._digest(ip or "unknown")
        return account, f"{account}:ip:{address}", f"authfail:ip:{address}"

    def _check_throttle(self, keys: tuple[str, str, str]) -> None:
        account, pair, address = (self.store.peek(key, FAILURE_WINDOW) for key in keys)
        pair_limit = FAILURES_PER_ACCOUNT_IP
        if account.count >= ACCOUNT_UNDER_ATTACK:
            pair_limit = 1
        for window, limit in ((pair, pair_limit), (address, FAILURES_PER_IP)):
            if window.count >= limit:
                now = int(dt.datetime.now(dt.UTC).timestamp())
                raise Throttled(
                    "Too many failed attempts; try again later.",
                    retry_after=max(1, window.reset_at - now),
                )

    def _fail(
        self, keys: tuple[str, str, str], action: str, who: str, context: AuditContext
    ) -> Unauthenticated:
        for key in keys:
            self.store.hit(key, FAILURE_WINDOW)
        audit.record(
            context,
            action,
            outcome="failed",
            actor=Actor(who, "anonymous"),
            details={"reason": "credentials"},
            with_request=False,
        )
        # the name typed may be a password typed in the wrong field: log only a tag of it
        log.info("%s for account #%s from %s", action, keys[0].rsplit(":", 1)[-1][:8], context.ip)
        return Unauthenticated(GENERIC_FAILURE)

    # -- flows --------------------------------------------------------------------

    def login(self, email: str, password: str, context: AuditContext) -> TokenPair:
        """Check email and password; start a session (same answer for unknown users).

        ``context`` is the request's (its address counts the failures); the login and
        its failures are audited here."""
        keys = self._failure_keys("user", email, context.ip)
        self._check_throttle(keys)
        with database.connection_context():
            user = User.get_or_none(User.email == email.strip().lower())
            valid = passwords.verify_secret(user.password_hash if user else None, password)
            if user is None or not valid or user.disabled:
                raise self._fail(keys, "auth.login_failed", email[:254], context)
            if passwords.needs_rehash(user.password_hash):
                user.password_hash = passwords.hash_secret(password)
            user.last_login = utcnow()
            user.save()
            pair = self._start_session(user)
        audit.record(
            context,
            "auth.login",
            actor=Actor(user.email, "user", user.role.value),
            with_request=False,
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

    def refresh(self, token: str, context: AuditContext) -> TokenPair:
        """Use a refresh token once and rotate it; reuse revokes its whole family."""
        try:
            claims = self.tokens.verify(token, "refresh")
        except InvalidToken as exc:
            log.info("refresh refused: %s", exc)
            raise Unauthenticated(GENERIC_FAILURE) from None
        now = utcnow()
        with database.connection_context(), write_transaction():
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
                context,
                "auth.refresh_reuse",
                outcome="denied",
                actor=Actor(claims.subject, "user"),
                details={"session": family},
                with_request=False,
            )
            log.warning("refresh token reuse detected; session revoked")
        raise Unauthenticated(GENERIC_FAILURE)

    def service_token(self, client_id: str, secret: str, context: AuditContext) -> TokenPair:
        """OAuth2 client credentials: an access token, no refresh token (audited here)."""
        keys = self._failure_keys("client", client_id, context.ip)
        self._check_throttle(keys)
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
                raise self._fail(keys, "auth.service_failed", client_id[:254], context)
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
            context,
            "auth.service",
            actor=Actor(client.client_id, "service", client.role.value),
            with_request=False,
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
