"""``dcctl``: the command line of the control plane, one module per command group.

The command line is the ONE composition root: the only part of ``control`` allowed to
import the edges (``web``, ``workers``, ``dashboard``), which it composes into
processes (``serve``, ``dashboard``, ``scheduler``, and the ASGI entry ``asgi.py``).
The rest of ``control`` imports none of them (setup.cfg's ``[importlinter]``
contracts, ``tests/unit/test_import_rules.py``). Commands import what they run inside
themselves, to keep ``dcctl --help`` quick. ``remote/`` speaks to the API over HTTP
only.
"""

from __future__ import annotations

import sys

import click

from control import __version__
from control.cli.agent import agent
from control.cli.clients import client
from control.cli.dashboard import dashboard
from control.cli.db import db
from control.cli.demo import demo
from control.cli.queues import queues
from control.cli.relay import relay
from control.cli.remote import REMOTE_COMMANDS
from control.cli.scheduler import scheduler
from control.cli.sections import SectionedGroup
from control.cli.serve import serve
from control.cli.users import user
from control.errors import ConfigurationError


@click.group(cls=SectionedGroup)
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
cli.add_command(queues)
for _remote in REMOTE_COMMANDS:  # dcctl as an API client (control/cli/remote/)
    cli.add_command(_remote)
cli.remote_names = frozenset(command.name or "" for command in REMOTE_COMMANDS)


def main() -> None:
    """Console entry point: configuration errors end in one line, exit status 2."""
    try:
        cli(standalone_mode=True)
    except ConfigurationError as exc:
        click.echo(f"dcctl: {exc}", err=True)
        sys.exit(2)
