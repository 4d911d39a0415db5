"""``dcctl client``: service clients for the OAuth2 client-credentials flow.

A client's secret is printed once, when it is created or rotated; only its Argon2id
hash is stored, so it cannot be shown again.
"""

from __future__ import annotations

import datetime as dt

import click

from control.auth import clients as domain
from control.auth.models import ServiceClient
from control.auth.roles import Role
from control.cli.context import bind_database
from control.cli.users import domain_errors, echo_table, record, when
from control.clock import utcnow

CLIENT_ROLES = [Role.SERVICE.value, Role.VIEWER.value, Role.OPERATOR.value]
ONCE = "This secret cannot be shown again: store it now (only its hash is kept)."

name_option = click.option("--name", required=True, help="The client's name (or client id).")


@click.group()
def client() -> None:
    """Service clients (client credentials: POST /api/v1/auth/service)."""


@client.command()
@click.option("--name", required=True, help="A unique name: letters, digits, space, . _ -")
@click.option(
    "--role",
    type=click.Choice(CLIENT_ROLES),
    default=Role.SERVICE.value,
    show_default=True,
    help="The role of the client's tokens.",
)
def create(name: str, role: str) -> None:
    """Register a client and print its id and secret (the secret only this once)."""
    bind_database()
    with domain_errors():
        made = domain.create_client(name, Role(role))
    record("clients.create", name=made.client.name, client=made.client.client_id, role=role)
    click.echo(f"created client {made.client.name!r} (role {made.client.role.value})")
    click.echo(f"client_id:     {made.client.client_id}")
    click.echo(f"client_secret: {made.secret}")
    click.echo(ONCE)


@client.command()
@name_option
@click.option(
    "--grace-hours",
    type=click.FloatRange(min=0, max=24 * 90),
    default=24,
    show_default=True,
    help="How long the previous secret keeps working.",
)
def rotate(name: str, grace_hours: float) -> None:
    """Issue a new secret; the previous one works for the grace period."""
    bind_database()
    with domain_errors():
        made = domain.rotate_secret(name, dt.timedelta(hours=grace_hours))
    record("clients.rotate", name=made.client.name, client=made.client.client_id)
    until = made.client.previous_secret_expires
    click.echo(f"rotated the secret of client {made.client.name!r} ({made.client.client_id})")
    click.echo(f"client_secret: {made.secret}")
    click.echo(ONCE)
    if until is not None and until > utcnow():
        click.echo(f"The previous secret keeps working until {until:%Y-%m-%d %H:%M} UTC.")
    else:
        click.echo("The previous secret no longer works.")


@client.command()
@name_option
def disable(name: str) -> None:
    """Disable a client; its tokens stop working at once."""
    bind_database()
    with domain_errors():
        changed = domain.set_disabled(name, True)
    record("clients.disable", name=changed.name, client=changed.client_id)
    click.echo(f"disabled client {changed.name!r} ({changed.client_id}); its tokens stop working")


@client.command()
@name_option
def enable(name: str) -> None:
    """Let a disabled client get tokens again."""
    bind_database()
    with domain_errors():
        changed = domain.set_disabled(name, False)
    record("clients.enable", name=changed.name, client=changed.client_id)
    click.echo(f"enabled client {changed.name!r} ({changed.client_id})")


@client.command("list")
def list_clients() -> None:
    """Every client: name, client id, role, whether disabled, created and last used (UTC)."""
    bind_database()
    rows = list(ServiceClient.select().order_by(ServiceClient.name))
    if not rows:
        click.echo("no service clients")
        return
    echo_table(
        ("NAME", "CLIENT ID", "ROLE", "DISABLED", "CREATED", "LAST USED"),
        [
            (
                c.name,
                c.client_id,
                c.role.value,
                "yes" if c.disabled else "no",
                when(c.created),
                when(c.last_used),
            )
            for c in rows
        ],
    )
