"""``dcctl apps``: list, show, start, stop and reset apps through the API."""

from __future__ import annotations

from typing import Any, Literal

import click

from control.cli.remote.connection import FAILED, Remote, remote_options
from control.cli.remote.output import Mode, emit_one, emit_rows, output_options
from dcclient import Client

RUN_STATUSES = ["IDLE", "SCHEDULED", "RUNNING", "STOPPING", "FAILED"]
LIST_COLUMNS = [
    ("ID", "id"),
    ("GROUP", "group"),
    ("STATUS", "run_status"),
    ("FATAL", "fatal_flag"),
    ("COMMAND", "command_flag"),
    ("NEXT RUN", "next_run"),
    ("LAST RUN", "last_runtime.status"),
    ("ENDED", "last_runtime.ended"),
]
DETAIL_FIELDS = [
    ("id", "id"),
    ("name", "app"),
    ("group", "group"),
    ("parent", "parent"),
    ("run status", "run_status"),
    ("command", "command_flag"),
    ("fatal", "fatal_flag"),
    ("fatal reason", "fatal_reason"),
    ("disabled", "disabled"),
    ("schedule", "schedule"),
    ("timezone", "timezone"),
    ("next run", "next_run"),
    ("progress", "progress.percent"),
    ("eta", "progress.eta"),
    ("current run", "current_runtime"),
    ("last run", "last_runtime.runtime"),
    ("last status", "last_runtime.status"),
    ("last ended", "last_runtime.ended"),
    ("settings", "settings"),
]
STOPPED = ("IDLE", "SCHEDULED", "FAILED")  # run statuses once a stop took effect


@click.group()
def apps() -> None:
    """Remote: the fleet's apps through the API (see 'dcctl login')."""


@apps.command("list")
@click.option("--group", help="Only this group.")
@click.option("--parent", help="Only this parent.")
@click.option("--status", type=click.Choice(RUN_STATUSES, case_sensitive=False))
@click.option("--fatal", is_flag=True, help="Only apps blocked by a fatal error.")
@click.option("--search", metavar="TEXT", help="Text in the id or name.")
@click.option("--sort", metavar="FIELDS", help="e.g. -next_run,id (see docs/api.md).")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many apps.")
@output_options()
@remote_options()
def list_apps(
    remote: Remote,
    group: str | None,
    parent: str | None,
    status: str | None,
    fatal: bool,
    search: str | None,
    sort: str | None,
    limit: int | None,
    mode: Mode,
) -> None:
    """List apps matching every filter given, page by page."""
    filters: dict[str, Any] = {
        "group": group,
        "parent": parent,
        "run_status": status.upper() if status else None,
        "fatal_flag": "FATAL" if fatal else None,
        "q": search,
        "sort": sort,
    }
    rows = remote.client.apps(**filters)
    if limit is not None:
        rows = (row for _, row in zip(range(limit), rows, strict=False))
    emit_rows(mode, rows, LIST_COLUMNS, empty="no app matches")


@apps.command("show")
@click.argument("app_id")
@output_options(lists=False)
@remote_options()
def show_app(remote: Remote, app_id: str, mode: Mode) -> None:
    """One app: configuration, flags, progress and its last run."""
    emit_one(mode, remote.client.app(app_id), DETAIL_FIELDS)


def _command(verb: Literal["start", "stop", "reset"]) -> click.Command:
    helps = {
        "start": "Start APP_ID now; with --wait, until the run it starts has ended "
        "(exit 1 unless it COMPLETED).",
        "stop": "Stop APP_ID's run; with --wait, until it is no longer running.",
        "reset": "Clear APP_ID's fatal flag; with --wait, until a manager took the command.",
    }

    @click.command(verb, help=helps[verb])
    @click.argument("app_id")
    @click.option("--wait", is_flag=True, help="Wait for the outcome (see above).")
    @click.option(
        "--timeout",
        type=click.FloatRange(min=1),
        default=600,
        show_default=True,
        help="Seconds to wait at most (exit 1 after).",
    )
    @output_options(lists=False)
    @remote_options()
    def command(remote: Remote, app_id: str, wait: bool, timeout: float, mode: Mode) -> None:
        api = remote.client
        before = (api.app(app_id).get("last_runtime") or {}).get("runtime") if wait else None
        accepted = api.command_app(app_id, verb)
        if not wait:
            _say(mode, accepted, f"{verb.upper()} command {accepted['id']} accepted for {app_id}")
            return
        ok, result = _wait(api, app_id, verb, accepted["id"], before, timeout)
        _say(mode, result, _summary(verb, app_id, result))
        if not ok:
            raise SystemExit(FAILED)

    return command


def _wait(
    api: Client, app_id: str, verb: str, command_id: str, before: str | None, timeout: float
) -> tuple[bool, dict[str, Any]]:
    """(succeeded, what to show): the command, then what it should have brought about."""
    command = api.wait_command(command_id, timeout=timeout)
    if command["status"] == "failed":
        return False, {"command": command}
    if verb == "start":
        app = api.wait_run(app_id, before, timeout=timeout)
        return app["last_runtime"]["status"] == "COMPLETED", {"command": command, "app": app}
    if verb == "stop":
        app = api.poll_until(lambda: api.app(app_id), lambda a: a["run_status"] in STOPPED, timeout)
        return True, {"command": command, "app": app}
    app = api.app(app_id)
    return app["fatal_flag"] == "NO_FATAL", {"command": command, "app": app}


def _summary(verb: str, app_id: str, result: dict[str, Any]) -> str:
    command = result["command"]
    if command["status"] == "failed":
        return f"{verb.upper()} command {command['id']} failed: {command.get('error')}"
    app = result["app"]
    if verb == "start":
        run = app["last_runtime"]
        return f"{app_id}: run {run['runtime']} ended {run['status']} at {run['ended']}"
    if verb == "stop":
        return f"{app_id}: stopped, now {app['run_status']}"
    return f"{app_id}: reset, fatal flag {app['fatal_flag']}"


def _say(mode: Mode, data: dict[str, Any], line: str) -> None:
    if mode == "table":
        click.echo(line)
    else:
        emit_one(mode, data, [])


for _verb in ("start", "stop", "reset"):
    apps.add_command(_command(_verb))
