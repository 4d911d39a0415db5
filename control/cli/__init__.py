"""``dcctl``: the command line of the control plane, one module per command group."""

from __future__ import annotations

import sys

import click

from control import __version__
from control.cli.agent import agent
from control.cli.clients import client
from control.cli.dashboard import dashboard
from control.cli.db import db
from control.cli.demo import demo
from control.cli.relay import relay
from control.cli.scheduler import scheduler
from control.cli.serve import serve
from control.cli.users import user
from control.errors import ConfigurationError


@click.group()
@click.version_option(__version__, prog_name="dcctl")
def cli() -> None:
    """Data Collector Control: operate the control plane."""


cli.add_command(agent)
cli.add_command(dashboard)
cli.add_command(db)
cli.add_command(demo)
cli.add_command(relay)
cli.add_command(scheduler)
cli.add_command(serve)
cli.add_command(user)
cli.add_command(client)


def main() -> None:
    """Console entry point: configuration errors end in one line, exit status 2."""
    try:
        cli(standalone_mode=True)
    except ConfigurationError as exc:
        click.echo(f"dcctl: {exc}", err=True)
        sys.exit(2)
