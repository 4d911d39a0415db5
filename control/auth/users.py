"""Managing users: create, disable, change role or password (the last three end sessions)."""

from __future__ import annotations

import re
from typing import Any

from control.auth import passwords
from control.auth.models import User
from control.auth.principal import Principal
from control.auth.principal_cache import forget_all
from control.auth.roles import Role
from control.auth.sessions import SessionService
from control.clock import utcnow
from control.db.database import database
from control.errors import Conflict, InvalidInput, NotFound

EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}$")


def normalise_email(email: str) -> str:
    """Lower-cased, trimmed email; InvalidInput if it does not look like one."""
    value = email.strip().lower()
    if not EMAIL.match(value):
        raise InvalidInput("Not a valid email address.", field="email")
    return value


def get_user(email: str) -> User:
    """The user with ``email``, or NotFound."""
    user = User.get_or_none(User.email == normalise_email(email))
    if user is None:
        raise NotFound(f"No user {email!r}.")
    return user


def profile(principal: Principal) -> dict[str, Any]:
    """Who the caller is: subject, kind and role, and a user's stored settings (blocking;
    opens a connection only for a user)."""
    data: dict[str, Any] = {
        "subject": principal.subject,
        "kind": principal.kind,
        "role": principal.role,
    }
    if principal.user_id is not None:
        with database.connection_context():
            user = User.get_by_id(principal.user_id)
        data["settings"] = user.settings
    return data


def create_user(email: str, password: str, role: Role) -> User:
    """A new enabled user; Conflict if the email is taken."""
    address = normalise_email(email)
    passwords.check_password_policy(password)
    if User.select().where(User.email == address).exists():
        raise Conflict(f"A user {address!r} already exists.", field="email")
    return User.create(email=address, password_hash=passwords.hash_secret(password), role=role)


def set_disabled(sessions: SessionService, email: str, disabled: bool) -> User:
    """Disable (ending every session) or re-enable a user."""
    user = get_user(email)
    user.disabled = disabled
    user.updated = utcnow()
    user.save()
    if disabled:
        sessions.revoke_user_sessions(user)
        forget_all()  # also without a live session: a token outlives its refresh token
    return user


def set_role(sessions: SessionService, email: str, role: Role) -> User:
    """Change a user's role; their sessions end so new tokens carry the new role."""
    user = get_user(email)
    user.role = role
    user.updated = utcnow()
    user.save()
    sessions.revoke_user_sessions(user)
    forget_all()
    return user


def set_password(sessions: SessionService, email: str, password: str) -> User:
    """Set a new password; every session of the user ends."""
    passwords.check_password_policy(password)
    user = get_user(email)
    user.password_hash = passwords.hash_secret(password)
    user.password_changed = user.updated = utcnow()
    user.save()
    sessions.revoke_user_sessions(user)
    return user
