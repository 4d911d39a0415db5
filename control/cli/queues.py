"""``dcctl queues``: the brokers' dead-letter queues (``<queue>.XQ``): list and replay.

A message that failed for good while the database was down is in the broker's ``.XQ``
only (not in ``/api/v1/jobs/dead``); once the database is back, ``dcctl queues replay``
sends it again. Bulk jobs and notifications are safe to replay: a job skips the apps it
handled and a delivery already sent is not sent again.
"""

from __future__ import annotations

import click

from control.cli.context import settings
from control.system.queues import QUEUES, DeadLetterQueues, for_settings


def _queues() -> DeadLetterQueues:
    found = for_settings(settings())
    if found is None:
        raise click.ClickException(
            "No broker is configured (DC_RABBITMQ_URL / DC_REDIS_URL): the in-process "
            "broker keeps no dead-letter queue"
        )
    return found


@click.group()
def queues() -> None:
    """The broker's dead-letter queues (<queue>.XQ)."""


@queues.command("dead")
@click.argument("names", nargs=-1)
def dead(names: tuple[str, ...]) -> None:
    """How many messages each queue's dead-letter queue holds (NAMES, or this
    deployment's queues: default, bulk, maintenance, notifications)."""
    for queue, depth in _queues().depths(names or QUEUES).items():
        click.echo(f"{queue}.XQ\t{depth}")


@queues.command("replay")
@click.argument("queue")
@click.option(
    "--limit", default=1000, show_default=True, type=click.IntRange(1), help="At most this many."
)
def replay(queue: str, limit: int) -> None:
    """Move QUEUE's dead messages back onto QUEUE, with a fresh retry count."""
    moved = _queues().replay(queue, limit)
    click.echo(f"replayed {moved} message(s) from {queue}.XQ to {queue}")
