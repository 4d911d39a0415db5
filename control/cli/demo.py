"""``dcctl demo``: the demo fleet."""

from __future__ import annotations

import click

from control.cli.context import bind_database
from control.db.database import database
from control.db.models import Apps


@click.group()
def demo() -> None:
    """Demo data."""


@demo.command()
@click.option("--apps", default=72, show_default=True, help="How many apps.")
@click.option("--days", default=3, show_default=True, help="Days of history.")
@click.option("--if-empty", is_flag=True, help="Do nothing (and succeed) when apps exist.")
def seed(apps: int, days: int, if_empty: bool) -> None:
    """Fill an empty database with a realistic demo fleet."""
    from control.demo.seed import seed_demo  # the generator is only loaded when asked for

    bind_database()
    if if_empty and Apps.select().exists():
        click.echo("demo fleet already present")
        return
    with database.connection_context():
        summary = seed_demo(apps=apps, days=days)
    click.echo(
        f"seeded {summary.apps} apps, {summary.runtimes} runtimes, {summary.logs} logs, "
        f"{summary.function_logs} function logs, {summary.pipeline_tasks} pipeline tasks"
    )
