"""``dcctl agent``: host collection apps for some groups until stopped."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

import click

from control.cli.context import bind_database, settings
from control.db import migrate

log = logging.getLogger(__name__)


def _split(values: tuple[str, ...]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


@click.command()
@click.option(
    "--group",
    "groups",
    multiple=True,
    help="A group to host (repeat, or comma-separate); default DC_AGENT_GROUPS, else all.",
)
@click.option("--name", default=None, help="Agent name (default DC_AGENT_NAME, else host name).")
def agent(groups: tuple[str, ...], name: str | None) -> None:
    """Run the apps of the given groups on schedule and on command; stops on SIGTERM.

    Running apps are cancelled on SIGTERM, given DC_AGENT_STOP_GRACE_SECONDS to finish,
    and their runtimes closed as STOPPED.
    """
    from control.agent.agent import build_agent  # the agent's imports only when asked for

    conf = settings()
    db = bind_database()
    waiting = migrate.pending(db)
    db.close()
    if waiting:
        raise click.ClickException(
            f"{len(waiting)} migration(s) pending ({', '.join(waiting)}); run 'dcctl db upgrade'"
        )
    logging.getLogger("pika").setLevel(logging.WARNING)
    if conf.rabbitmq_url is None:
        log.warning(
            "DC_RABBITMQ_URL is not set: this agent only sees commands by polling "
            "command_flag every %ss",
            conf.agent_poll_seconds,
        )
    runner = build_agent(conf, name=name, groups=_split(groups))
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        log.info("agent stopping (signal %s)", signum)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    runner.start()
    try:
        while not stop.wait(1.0):
            pass
    finally:
        runner.stop()
