"""``dcctl runs``: the runs (runtimes) of the fleet's apps, newest first."""

from __future__ import annotations

import click

from control.cli.remote.connection import Remote, remote_options
from control.cli.remote.output import Mode, emit_rows, output_options

RUN_COLUMNS = [
    ("RUNTIME", "id"),
    ("APP", "app"),
    ("STATUS", "status"),
    ("STARTED", "started"),
    ("ENDED", "ended"),
    ("SECONDS", "duration_seconds"),
    ("SOLVED", "records.solved"),
    ("FAILED", "records.failed"),
    ("ERROR", "error"),
]
STATUSES = ["RUNNING", "COMPLETED", "FAILED", "STOPPED"]


@click.group()
def runs() -> None:
    """Remote: the runs of the fleet's apps (see 'dcctl login')."""


@runs.command("list")
@click.option("--app", metavar="GLOB", help="App id or glob (scraper_*).")
@click.option("--status", type=click.Choice(STATUSES, case_sensitive=False))
@click.option("--from", "since", metavar="TIME", help="Started at or after (ISO 8601, UTC).")
@click.option("--to", "until", metavar="TIME", help="Started before (ISO 8601, UTC).")
@click.option(
    "--limit", type=click.IntRange(1, 10_000), default=20, show_default=True, help="Runs shown."
)
@output_options()
@remote_options()
def list_runs(
    remote: Remote,
    app: str | None,
    status: str | None,
    since: str | None,
    until: str | None,
    limit: int,
    mode: Mode,
) -> None:
    """List runs, newest first."""
    rows = remote.client.runtimes(
        limit=min(limit, 100),
        app=app,
        status=status.upper() if status else None,
        **{"from": since, "to": until},
    )
    emit_rows(mode, (r for _, r in zip(range(limit), rows, strict=False)), RUN_COLUMNS)
