"""``dcctl db``: schema migrations."""

from __future__ import annotations

import click

from control.cli.context import bind_database
from control.db import migrate


@click.group()
def db() -> None:
    """Database schema."""


@db.command()
def upgrade() -> None:
    """Apply every pending migration."""
    applied = migrate.upgrade(bind_database())
    for name in applied:
        click.echo(f"applied: {name}")
    click.echo("database is up to date" if not applied else f"{len(applied)} migration(s) applied")


@db.command()
def status() -> None:
    """List migrations and whether each is applied; exit 1 when any is pending."""
    rows = migrate.status(bind_database())
    for row in rows:
        mark = "x" if row.applied else " "
        when = f"  {row.applied:%Y-%m-%d %H:%M:%S}" if row.applied else ""
        click.echo(f"[{mark}] {row.name}{when}")
    if any(not row.applied for row in rows):
        raise SystemExit(1)
