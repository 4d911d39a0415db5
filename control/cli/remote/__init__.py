"""Remote commands: ``dcctl`` as a client of a running API (``dcclient``).

Unlike the local administration commands (``db``, ``user``, ``serve``…), which work on
the database named by the ``DC_*`` settings, these talk HTTP to ``DCCTL_URL`` with a
credential, and can run from any machine.
"""

from __future__ import annotations

import click

from control.cli.remote.apps import apps
from control.cli.remote.bulk import bulk
from control.cli.remote.jobs import jobs
from control.cli.remote.login import login, logout
from control.cli.remote.logs import logs
from control.cli.remote.runs import runs
from control.cli.remote.system import health, notify

REMOTE_COMMANDS: list[click.Command] = [
    login,
    logout,
    apps,
    bulk,
    runs,
    logs,
    jobs,
    health,
    notify,
]

__all__ = ["REMOTE_COMMANDS"]
