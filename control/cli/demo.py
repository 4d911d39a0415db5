"""``dcctl demo``: the demo fleet."""

from __future__ import annotations

import click

from control.apps.models import Apps
from control.cli.context import bind_database
from control.db.database import database


@click.group()
def demo() -> None:
    """Demo data."""


@demo.command()
@click.option("--apps", default=72, show_default=True, help="How many apps.")
@click.option("--days", default=3, show_default=True, help="Days of history.")
@click.option("--if-empty", is_flag=True, help="Do nothing (and succeed) when apps exist.")
@click.option(
    "--live-agent",
    is_flag=True,
    help="An agent will run the fleet (make demo): end the seeded runs in progress as "
    "STOPPED and make their apps due now, so that the agent starts real ones.",
)
def seed(apps: int, days: int, if_empty: bool, live_agent: bool) -> None:
    """Fill an empty database with a realistic demo fleet."""
    from control.demo.handover import hand_over
    from control.demo.seed import seed_demo  # the generator is only loaded when asked for

    bind_database()
    if if_empty and Apps.select().exists():
        click.echo("demo fleet already present")
        return
    with database.connection_context():
        summary = seed_demo(apps=apps, days=days)
        handed = hand_over() if live_agent else 0
    click.echo(
        f"seeded {summary.apps} apps, {summary.runtimes} runtimes, {summary.logs} logs, "
        f"{summary.function_logs} function logs, {summary.pipeline_tasks} pipeline tasks"
    )
    if handed:
        click.echo(f"{handed} apps handed over to the live agent (due now)")
