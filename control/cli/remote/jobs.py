"""``dcctl jobs``: background messages that failed for good, and re-queuing them."""

from __future__ import annotations

import click

from control.cli.remote.connection import Remote, remote_options
from control.cli.remote.output import Mode, emit_one, emit_rows, output_options

DEAD_COLUMNS = [
    ("ID", "id"),
    ("QUEUE", "queue"),
    ("ACTOR", "actor"),
    ("FAILED AT", "failed_at"),
    ("REQUEUED", "requeued_at"),
    ("ERROR", "error"),
]


@click.group()
def jobs() -> None:
    """Remote: dead background jobs (admins; see 'dcctl login')."""


@jobs.command("dead")
@click.option("--requeued/--not-requeued", default=None, help="Only jobs (not) re-queued already.")
@output_options()
@remote_options()
def dead(remote: Remote, requeued: bool | None, mode: Mode) -> None:
    """List dead jobs, newest first."""
    emit_rows(mode, remote.client.dead_jobs(requeued), DEAD_COLUMNS, empty="no dead job")


@jobs.command("requeue")
@click.argument("job_id", type=click.IntRange(min=1))
@output_options(lists=False)
@remote_options()
def requeue(remote: Remote, job_id: int, mode: Mode) -> None:
    """Enqueue dead job JOB_ID's message again, with a fresh retry count."""
    data = remote.client.requeue(job_id)
    if mode == "table":
        click.echo(f"dead job {job_id} re-queued")
    else:
        emit_one(mode, data, [])
