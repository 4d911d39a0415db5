"""``dcctl bulk``: one command for every app a filter matches, as a job on the API."""

from __future__ import annotations

from typing import Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from control.cli.remote.connection import FAILED, USAGE, Remote, fail, remote_options
from control.cli.remote.output import Mode, console, dumps, emit_rows, output_options
from dcclient import Client
from dcclient.api import BulkVerb

RUN_STATUSES = ["IDLE", "SCHEDULED", "RUNNING", "STOPPING", "FAILED"]
COMMANDS = ["START", "STOP", "RESTART", "RESET", "ENABLE", "DISABLE"]
RESULT_COLUMNS = [
    ("APP", "app_id"),
    ("OUTCOME", "outcome"),
    ("REASON", "reason"),
    ("COMMAND ID", "command_id"),
]


@click.group()
def bulk() -> None:
    """Remote: start, stop or command many apps at once (see docs/bulk.md)."""


def _bulk_command(verb: BulkVerb) -> click.Command:
    helps = {
        "start": "Start every app the filter matches.",
        "stop": "Stop every app the filter matches.",
        "command": "Send --command to every app the filter matches.",
    }

    @click.command(verb, help=helps[verb] + " Exit 1 when an app failed (with --wait).")
    @click.option("--group", help="Apps of this group.")
    @click.option("--parent", help="Apps of this parent.")
    @click.option("--status", type=click.Choice(RUN_STATUSES, case_sensitive=False))
    @click.option("--fatal/--not-fatal", default=None, help="Only (non-)fatal apps.")
    @click.option("--app", "app_ids", multiple=True, metavar="ID", help="These apps (repeat).")
    @click.option("--dry-run", is_flag=True, help="Show what would be touched; change nothing.")
    @click.option(
        "--rate",
        type=click.FloatRange(min=0.01),
        help="At most this many apps per second.",
    )
    @click.option("--wait", is_flag=True, help="Follow the job to its end, then list results.")
    @click.option("--timeout", type=click.FloatRange(min=1), default=600, show_default=True)
    @click.option(
        "--idempotency-key", metavar="KEY", help="Retrying with the same key never makes two jobs."
    )
    @output_options(lists=False)
    @remote_options()
    def command(remote: Remote, **options: Any) -> None:
        _run(remote, verb, **options)

    if verb == "command":
        command = click.option(
            "--command",
            "bulk_command",
            type=click.Choice(COMMANDS, case_sensitive=False),
            required=True,
            help="The command to send.",
        )(command)
    return command


def _run(
    remote: Remote,
    verb: BulkVerb,
    *,
    group: str | None,
    parent: str | None,
    status: str | None,
    fatal: bool | None,
    app_ids: tuple[str, ...],
    dry_run: bool,
    rate: float | None,
    wait: bool,
    timeout: float,
    idempotency_key: str | None,
    mode: Mode,
    bulk_command: str | None = None,
) -> None:
    criteria = {
        "group": group,
        "parent": parent,
        "run_status": status.upper() if status else None,
        "fatal_flag": None if fatal is None else ("FATAL" if fatal else "NO_FATAL"),
        "app_ids": list(app_ids) or None,
    }
    criteria = {key: value for key, value in criteria.items() if value is not None}
    if not criteria:
        fail("give at least one of --group, --parent, --status, --fatal, --app", USAGE)
    api = remote.client
    job = api.bulk(
        verb,
        criteria,
        command=bulk_command.upper() if bulk_command else None,
        dry_run=dry_run,
        idempotency_key=idempotency_key,
        rate=rate,
    )
    if dry_run:
        if mode != "table":
            click.echo(dumps(job))
        else:
            click.echo(f"{job['matched']} app(s) would be commanded:")
            for app_id in job["app_ids"]:
                click.echo(f"  {app_id}")
        return
    if not wait:
        if mode != "table":
            click.echo(dumps(job))
        else:
            click.echo(f"job {job['id']} {job['status']}: {job['matched']} app(s) matched")
        return
    final = _follow(api, job, timeout, show=mode == "table")
    if mode != "table":
        click.echo(dumps(final))
    else:
        emit_rows("table", final["results"], RESULT_COLUMNS, empty="no app was matched")
        click.echo(
            f"job {final['id']} {final['status']}: {final['applied']} applied, "
            f"{final['skipped']} skipped, {final['failed']} failed"
            + (f" ({final['error']})" if final.get("error") else "")
        )
    if final["failed"] or final["status"] == "failed":
        raise SystemExit(FAILED)


def _follow(api: Client, job: dict[str, Any], timeout: float, *, show: bool) -> dict[str, Any]:
    """Poll the job with a live progress bar on stderr (drawn only on a terminal)."""
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(
            "[green]{task.fields[applied]} applied[/] [yellow]{task.fields[skipped]} skipped[/]"
            " [red]{task.fields[failed]} failed[/]"
        ),
        TimeElapsedColumn(),
        console=console(err=True),
        disable=not show,
        transient=False,
    )
    with progress:
        task = progress.add_task(
            f"{job['command']} {job['id'][:8]}",
            total=job["matched"],
            applied=0,
            skipped=0,
            failed=0,
        )

        def update(state: dict[str, Any]) -> None:
            progress.update(
                task,
                completed=state["done"],
                applied=state["applied"],
                skipped=state["skipped"],
                failed=state["failed"],
            )

        return api.wait_bulk_job(job["id"], timeout=timeout, on_update=update)


@bulk.command("cancel")
@click.argument("job_id", metavar="JOB")
@output_options(lists=False)
@remote_options()
def cancel(remote: Remote, job_id: str, mode: Mode) -> None:
    """Cancel a queued or running job: what was applied stays, the rest is skipped
    "cancelled" (an error when the job is finished)."""
    job = remote.client.cancel_bulk_job(job_id)
    if mode != "table":
        click.echo(dumps(job))
    else:
        click.echo(
            f"job {job['id']} {job['status']}: {job['applied']} applied, "
            f"{job['skipped']} skipped, {job['failed']} failed"
        )


bulk.add_command(_bulk_command("start"))
bulk.add_command(_bulk_command("stop"))
bulk.add_command(_bulk_command("command"))
