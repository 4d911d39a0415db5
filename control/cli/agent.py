"""``dcctl agent``: host collection apps for some groups until stopped."""

from __future__ import annotations

import logging

import click

from control.cli.context import bind_migrated_database, settings, stop_on_signals

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
@click.option(
    "--name",
    default=None,
    help="Agent name, one per agent process: it names the agent's queue "
    "(default DC_AGENT_NAME, else host name).",
)
def agent(groups: tuple[str, ...], name: str | None) -> None:
    """Run the apps of the given groups on schedule and on command; stops on SIGTERM.

    Running apps are cancelled on SIGTERM, given DC_AGENT_STOP_GRACE_SECONDS to finish,
    and their runtimes closed as STOPPED.
    """
    from control.agent.agent import build_agent  # the agent's imports only when asked for

    conf = settings()
    bind_migrated_database()
    logging.getLogger("pika").setLevel(logging.WARNING)
    if conf.rabbitmq_url is None:
        log.warning(
            "DC_RABBITMQ_URL is not set: this agent only sees commands by polling "
            "command_flag every %ss",
            conf.agent_poll_seconds,
        )
    runner = build_agent(conf, name=name, groups=_split(groups))
    stop = stop_on_signals("agent")
    runner.start()
    try:
        while not stop.wait(1.0):
            pass
    finally:
        runner.stop()
