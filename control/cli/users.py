"""``dcctl user``: people who log in with email and password.

Disabling a user, changing their role or resetting their password ends every session
they have; the revocations go where the API looks for them (``control.auth.wiring``).
Passwords are prompted for (hidden, twice) or read from one line of stdin, never taken
as arguments, so they stay out of shell history and process listings.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import sys
from collections.abc import Iterator, Sequence

import click
from peewee import IntegrityError

from control.audit import services as audit
from control.audit.context import Actor, AuditContext
from control.auth import users as domain
from control.auth.models import ApiKey, User
from control.auth.roles import HUMAN, Role, may_grant
from control.auth.sessions import SessionService
from control.auth.wiring import build_session_service
from control.cli.context import bind_database, settings
from control.errors import ConfigurationError, ControlError

USER_ROLES = [role.value for role in Role if role in HUMAN]


# -- helpers shared with ``dcctl client`` -------------------------------------------------


@contextlib.contextmanager
def domain_errors() -> Iterator[None]:
    """Turn the domain's refusals into ``Error: <message>`` and exit status 1."""
    try:
        yield
    except ConfigurationError:
        raise  # main() reports these with exit status 2
    except ControlError as exc:
        raise click.ClickException(exc.message) from None


def actor() -> str:
    """Who ran the command, for the audit log."""
    try:
        return f"dcctl:{getpass.getuser()}"[:254]
    except (KeyError, OSError):
        return "dcctl"


def record(action: str, **summary: object) -> None:
    """An audit row for a change made from the command line (secrets never included)."""
    audit.record(AuditContext(actor=Actor(actor(), "cli")), action, details=summary)


def when(value: dt.datetime | None, empty: str = "never") -> str:
    """A stored (naive UTC) time for a listing."""
    return f"{value:%Y-%m-%d %H:%M}" if value else empty


def echo_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """Left-aligned columns, two spaces apart."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    for line in (header, *rows):
        cells = [str(cell).ljust(width) for cell, width in zip(line, widths, strict=True)]
        click.echo("  ".join(cells).rstrip())


def read_secret(from_stdin: bool, prompt: str = "Password") -> str:
    """One line of stdin without its line ending, or a hidden prompt answered twice."""
    if not from_stdin:
        return click.prompt(prompt, hide_input=True, confirmation_prompt=True, err=True)
    line = sys.stdin.readline()
    if not line:
        raise click.ClickException("no password on stdin")
    return line.removesuffix("\n").removesuffix("\r")


# -- sessions -----------------------------------------------------------------------------


class _CountingSessions(SessionService):
    """The configured session service, remembering how many sessions it revoked."""

    revoked = 0

    def revoke_user_sessions(self, user: User) -> int:
        count = super().revoke_user_sessions(user)
        self.revoked += count
        return count


def _sessions() -> _CountingSessions:
    wired = build_session_service(settings())
    return _CountingSessions(wired.tokens, wired.revocations, wired.store)


def _revoked(count: int) -> str:
    return f"{count} session{'' if count == 1 else 's'} revoked"


# -- commands -----------------------------------------------------------------------------

email_option = click.option("--email", required=True, help="The user's email address.")
stdin_option = click.option(
    "--password-stdin", is_flag=True, help="Read the password from one line of stdin."
)


@click.group()
def user() -> None:
    """Users who log in with email and password."""


@user.command()
@email_option
@click.option("--role", required=True, type=click.Choice(USER_ROLES), help="The user's role.")
@stdin_option
@click.option("--if-missing", is_flag=True, help="Succeed without change if the user exists.")
def create(email: str, role: str, password_stdin: bool, if_missing: bool) -> None:
    """Create an enabled user (the password is prompted for, or read from stdin)."""
    bind_database()
    with domain_errors():
        address = domain.normalise_email(email)
        existing = User.get_or_none(User.email == address)
        if existing is not None and if_missing:
            click.echo(f"user {address} already exists (role {existing.role.value}); unchanged")
            return
        password = read_secret(password_stdin)
        try:
            created = domain.create_user(address, password, Role(role))
        except IntegrityError:  # created by someone else between the check and the insert
            if if_missing:
                click.echo(f"user {address} already exists; unchanged")
                return
            raise click.ClickException(f"A user {address!r} already exists.") from None
    record("users.create", email=created.email, role=created.role.value)
    click.echo(f"created user {created.email} (role {created.role.value})")


@user.command()
@email_option
def disable(email: str) -> None:
    """Disable a user and end every session they have."""
    bind_database()
    sessions = _sessions()
    with domain_errors():
        changed = domain.set_disabled(sessions, email, True)
    record("users.disable", email=changed.email)
    click.echo(f"disabled user {changed.email}; {_revoked(sessions.revoked)}")


@user.command()
@email_option
def enable(email: str) -> None:
    """Let a disabled user log in again."""
    bind_database()
    with domain_errors():
        changed = domain.set_disabled(_sessions(), email, False)
    record("users.enable", email=changed.email)
    click.echo(f"enabled user {changed.email}")


@user.command("set-role")
@email_option
@click.option("--role", required=True, type=click.Choice(USER_ROLES), help="The new role.")
def set_role(email: str, role: str) -> None:
    """Change a user's role; their sessions end so new tokens carry the new role."""
    bind_database()
    sessions = _sessions()
    with domain_errors():
        before = domain.get_user(email).role
        changed = domain.set_role(sessions, email, Role(role))
    record("users.set_role", email=changed.email, role=changed.role.value, previous=before.value)
    click.echo(
        f"user {changed.email}: role {before.value} -> {changed.role.value}; "
        f"{_revoked(sessions.revoked)}"
    )
    above = [
        key
        for key in ApiKey.select().where(ApiKey.user == changed.id, ApiKey.revoked.is_null())
        if not may_grant(changed.role, key.role)
    ]
    if above:
        click.echo(
            f"warning: {len(above)} API key(s) of this user have a role above "
            f"{changed.role.value} and keep it until revoked: "
            + ", ".join(f"{key.name} ({key.role.value})" for key in above),
            err=True,
        )


@user.command("reset-password")
@email_option
@stdin_option
def reset_password(email: str, password_stdin: bool) -> None:
    """Set a new password and end every session of the user."""
    bind_database()
    sessions = _sessions()
    with domain_errors():
        domain.get_user(email)  # no prompt for a user that does not exist
        changed = domain.set_password(sessions, email, read_secret(password_stdin))
    record("users.reset_password", email=changed.email)
    click.echo(f"password of {changed.email} reset; {_revoked(sessions.revoked)}")


@user.command("list")
def list_users() -> None:
    """Every user: email, role, whether disabled, created and last login (UTC)."""
    bind_database()
    users = list(User.select().order_by(User.email))
    if not users:
        click.echo("no users")
        return
    echo_table(
        ("EMAIL", "ROLE", "DISABLED", "CREATED", "LAST LOGIN"),
        [
            (
                u.email,
                u.role.value,
                "yes" if u.disabled else "no",
                when(u.created),
                when(u.last_login),
            )
            for u in users
        ],
    )
