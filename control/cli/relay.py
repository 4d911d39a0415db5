"""``dcctl relay``: publish the command outbox to RabbitMQ until stopped.

On PostgreSQL the relay also LISTENs for the commit of each new command
(``control/commands/wakeup.py``), so it publishes at once rather than at its next poll.
"""

from __future__ import annotations

import logging

import click

from control.cli.context import bind_migrated_database, settings, stop_on_signals
from control.commands.factory import build_transport
from control.commands.relay import relay_once, run_relay
from control.commands.services import outbox_written
from control.commands.wakeup import OutboxListener, connect_like
from control.db.database import dialect

log = logging.getLogger(__name__)


@click.command()
@click.option(
    "--batch",
    default=100,
    show_default=True,
    type=click.IntRange(1, 1000),
    help="Rows per transaction.",
)
@click.option(
    "--idle-sleep",
    default=1.0,
    show_default=True,
    type=float,
    help="Seconds between polls when the outbox is empty.",
)
@click.option("--once", is_flag=True, help="Publish what is waiting now, then exit.")
def relay(batch: int, idle_sleep: float, once: bool) -> None:
    """Publish outbox rows to RabbitMQ with confirms; stops cleanly on SIGTERM.

    Several relays may run against PostgreSQL (each claims rows with SKIP LOCKED);
    run one against SQLite. Without DC_RABBITMQ_URL the web process relays itself.
    """
    conf = settings()
    if conf.rabbitmq_url is None:
        raise click.ClickException(
            "DC_RABBITMQ_URL is not set: in the embedded default the web process relays "
            "commands itself"
        )
    db = bind_migrated_database()
    # pika logs every failed connection attempt at ERROR; the relay logs one warning
    # per failed row instead, with the reason.
    logging.getLogger("pika").setLevel(logging.CRITICAL)
    transport = build_transport(conf.rabbitmq_url)
    try:
        if once:
            total = 0
            while (sent := relay_once(transport, batch)) > 0:
                total += sent
                if sent < batch:
                    break
            click.echo(f"published {total}")
            return
        stop = stop_on_signals("relay", also=outbox_written.set)  # wakes its idle wait
        listener = None
        if dialect(db) == "postgresql":
            listener = OutboxListener(connect_like(db), outbox_written)
            listener.start()
        log.info("relay started%s", " (woken by LISTEN dc_outbox)" if listener else "")
        try:
            run_relay(transport, stop, idle_sleep, batch=batch)
        finally:
            if listener is not None:
                listener.stop()
    finally:
        transport.close()
