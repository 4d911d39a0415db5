"""Commands: each one transaction, locked on the app's row.

A command sets the app's ``command_flag``, writes the ``Command``, its ``Outbox`` row and
the audit row, all committed together; the relay publishes the outbox later, so a broker
outage delays a command but never loses it. At most one command per app is live
(pending or published) at a time, and while it is live the app's ``command_flag``
holds it: a manager acknowledges by clearing the flag (or through ``acknowledge``).
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Sequence
from typing import Any

from peewee import ModelSelect, chunked

from control.apps import services as apps
from control.apps.models import Apps
from control.audit import services as audit
from control.audit.context import Actor, AuditContext
from control.clock import utcnow
from control.commands import messages
from control.commands.models import LIVE, Command, CommandStatus, Outbox
from control.commands.wakeup import notify_outbox
from control.db.database import connected, database, locking, write_transaction
from control.enums import CommandFlag, FatalFlag, RunStatus
from control.errors import Conflict, InvalidInput, NotFound
from control.events import EventType, publish

ACTIONS = {
    CommandFlag.START: "apps.start",
    CommandFlag.STOP: "apps.stop",
    CommandFlag.RESTART: "apps.restart",
    CommandFlag.RESET: "apps.reset",
}
STOPPABLE = (RunStatus.RUNNING, RunStatus.SCHEDULED, RunStatus.STOPPING)
FLAG_CLEARED = "manager (command_flag cleared)"
INSERT_BATCH = 100  # rows per multi-row INSERT (MSSQL takes 2,100 parameters at most)

# Set after every committed command: the in-process relay wakes instead of polling.
outbox_written = threading.Event()


# -- commands --------------------------------------------------------------------------


def check_command(command: CommandFlag, app: Apps) -> bool:
    """Raise Conflict when ``command`` makes no sense for ``app`` now.

    Returns True when the command is a STOP that supersedes a pending START.
    """
    name = app.id
    if command in (CommandFlag.START, CommandFlag.RESTART):
        if app.disabled:
            raise Conflict(f"App {name!r} is disabled; enable it first.", field="disabled")
        if app.fatal_flag is FatalFlag.FATAL:
            raise Conflict(f"App {name!r} is fatal; reset it first.", field="fatal_flag")
    if command is CommandFlag.START and app.run_status in (RunStatus.RUNNING, RunStatus.STOPPING):
        raise Conflict(
            f"App {name!r} is {app.run_status.value.lower()}; it cannot be started now.",
            field="run_status",
        )
    if command is CommandFlag.STOP:
        if app.command_flag is CommandFlag.START:
            return True
        if app.run_status not in STOPPABLE:
            raise Conflict(
                f"App {name!r} is {app.run_status.value.lower()}; there is nothing to stop.",
                field="run_status",
            )
    if command is CommandFlag.RESET and app.fatal_flag is not FatalFlag.FATAL:
        raise Conflict(f"App {name!r} is not fatal; there is nothing to reset.", field="fatal_flag")
    if app.command_flag is not CommandFlag.NONE:
        raise Conflict(
            f"A {app.command_flag.value} command is pending for app {name!r}; "
            "wait until its manager acknowledges it.",
            field="command_flag",
        )
    return False


def _retire(
    query: ModelSelect[Command],
    status: CommandStatus,
    *,
    by: str | None = None,
    error: str | None = None,
) -> None:
    """Move live commands to ``status`` and drop their unsent outbox rows (not needed now).

    Outbox rows go first: the relay locks outbox before command rows, so must we.
    """
    ids = [c.id for c in query]
    if not ids:
        return
    Outbox.delete().where(Outbox.message_id.in_(ids), Outbox.published_at.is_null()).execute()
    values: dict[Any, Any] = {Command.status: status}
    if status is CommandStatus.ACKNOWLEDGED:
        values |= {Command.acknowledged_at: utcnow(), Command.acknowledged_by: by}
    if error is not None:
        values[Command.error] = error
    Command.update(values).where(Command.id.in_(ids), Command.status.in_(LIVE)).execute()


def _live_commands(app_id: str) -> ModelSelect[Command]:
    return Command.select(Command.id).where(Command.app == app_id, Command.status.in_(LIVE))


def issue_command(
    app_id: str,
    command: CommandFlag | str,
    by: Actor | AuditContext,
    *,
    bulk_job_id: str | None = None,
) -> Command:
    """Accept ``command`` for ``app_id``: flag, command, outbox and audit in one transaction.

    Raises NotFound for an unknown app and Conflict when the command makes no sense now
    (see ``check_command``). ``by`` is who asks, or the request's audit context (its ip,
    method, endpoint, summary and status go into the audit row).
    """
    context = AuditContext.of(by)
    actor = context.actor
    command = CommandFlag(command)
    if command is CommandFlag.NONE:
        raise InvalidInput("NONE is not a command.", field="command")
    with connected(), write_transaction():
        app = apps.locked_app(app_id)
        supersedes = check_command(command, app)
        now = utcnow()
        new_id = uuid.uuid4().hex
        if supersedes:
            _retire(
                _live_commands(app.id),
                CommandStatus.FAILED,
                error=f"superseded by STOP command {new_id}",
            )
        else:
            # The flag is clear, so a manager has taken any earlier command already.
            _retire(_live_commands(app.id), CommandStatus.ACKNOWLEDGED, by=FLAG_CLEARED)
        requested_by = actor.subject[:254]
        row = _command_row(app, new_id, command, requested_by, now, bulk_job_id)
        issued = Command.create(**row)
        Outbox.create(**_outbox_row(app, new_id, command, requested_by, now))
        notify_outbox()  # wakes a relay in another process at commit
        Apps.update(_flag_values(command, now)).where(Apps.id == app.id).execute()
        details = _audit_details(app.id, new_id, command, bulk_job_id)
        audit.write(context, ACTIONS[command], details=details)
    # now, or when the caller's own transaction commits if this ran inside one
    database.after_commit(lambda: _after_commit(issued, actor))
    return issued


def issue_many(
    apps: Sequence[Apps],
    command: CommandFlag,
    by: Actor | AuditContext,
    *,
    bulk_job_id: str | None = None,
) -> dict[str, str]:
    """``issue_command`` for many apps at once, set-based, in the caller's transaction.

    The caller has locked the apps' rows (``locking``) and checked that the command
    applies to each (``check_command``): each app gets its flag, command, outbox row and
    audit row as from ``issue_command``, in a few statements whatever their number.
    The new command's id by app id.
    """
    context = AuditContext.of(by)
    actor = context.actor
    if not apps:
        return {}
    if command is CommandFlag.NONE:
        raise InvalidInput("NONE is not a command.", field="command")
    now = utcnow()
    issued = {app.id: uuid.uuid4().hex for app in apps}
    superseding = {app.id for app in apps if check_command(command, app)}
    for app in apps:  # a STOP over a pending START: rare, one app at a time, in order
        if app.id in superseding:
            _retire(
                _live_commands(app.id),
                CommandStatus.FAILED,
                error=f"superseded by STOP command {issued[app.id]}",
            )
    rest = [app.id for app in apps if app.id not in superseding]
    if rest:
        live: Any = Command.select(Command.id).where(
            Command.app.in_(rest), Command.status.in_(LIVE)
        )
        _retire(live, CommandStatus.ACKNOWLEDGED, by=FLAG_CLEARED)
    requested_by = actor.subject[:254]
    commands = [
        _command_row(app, issued[app.id], command, requested_by, now, bulk_job_id) for app in apps
    ]
    outbox = [_outbox_row(app, issued[app.id], command, requested_by, now) for app in apps]
    for rows in chunked(commands, INSERT_BATCH):
        Command.insert_many(rows).execute()
    for rows in chunked(outbox, INSERT_BATCH):
        Outbox.insert_many(rows).execute()
    notify_outbox()  # wakes a relay in another process at commit
    values = _flag_values(command, now)
    for some in chunked([app.id for app in apps], INSERT_BATCH):
        Apps.update(values).where(Apps.id.in_(some)).execute()
    details = [_audit_details(app.id, issued[app.id], command, bulk_job_id) for app in apps]
    audit.write_many(context, ACTIONS[command], details)
    sent = list(issued.items())
    database.after_commit(lambda: _after_commit_many(sent, command, actor))
    return issued


def _command_row(
    app: Apps,
    command_id: str,
    command: CommandFlag,
    requested_by: str,
    now: dt.datetime,
    bulk_job_id: str | None,
) -> dict[str, Any]:
    return {
        "id": command_id,
        "app": app.id,
        "command": command,
        "requested_by": requested_by,
        "requested_at": now,
        "bulk_job_id": bulk_job_id,
    }


def _outbox_row(
    app: Apps, command_id: str, command: CommandFlag, requested_by: str, now: dt.datetime
) -> dict[str, Any]:
    """The message a manager receives for ``command_id``, waiting in the outbox."""
    return {
        "kind": "command",
        "message_id": command_id,
        "routing_key": messages.routing_key(app.group, app.parent, app.id),
        "payload": messages.command_body(
            command_id=command_id,
            command=command.value,
            app_id=app.id,
            group=app.group,
            parent=app.parent,
            requested_at=now,
            requested_by=requested_by,
        ).decode(),
        "headers": messages.command_headers(command.value, app.id),
        "created": now,
        "available_at": now,
    }


def _flag_values(command: CommandFlag, now: dt.datetime) -> dict[Any, Any]:
    """The app's columns a command sets (a RESET also clears the fatal state)."""
    values: dict[Any, Any] = {
        Apps.command_flag: command,
        Apps.command_updated: now,
        Apps.updated: now,
    }
    if command is CommandFlag.RESET:
        values |= {
            Apps.fatal_flag: FatalFlag.NO_FATAL,
            Apps.fatal_reason: None,
            Apps.consecutive_failures: 0,
        }
    return values


def _audit_details(
    app_id: str, command_id: str, command: CommandFlag, bulk_job_id: str | None
) -> dict[str, Any]:
    details = {"command_id": command_id, "command": command.value, "app_id": app_id}
    if bulk_job_id is not None:
        details["bulk_job_id"] = bulk_job_id
    return details


def _after_commit_many(sent: list[tuple[str, str]], command: CommandFlag, actor: Actor) -> None:
    outbox_written.set()
    for app_id, command_id in sent:
        publish(
            EventType.APP_COMMAND_SENT,
            {
                "app": app_id,
                "command": command.value,
                "actor": actor.subject,
                "command_id": command_id,
            },
        )


def _after_commit(issued: Command, actor: Actor) -> None:
    outbox_written.set()
    publish(  # never raises, never blocks
        EventType.APP_COMMAND_SENT,
        {
            "app": issued.app,
            "command": issued.command.value,
            "actor": actor.subject,
            "command_id": issued.id,
        },
    )


def view(command: Command) -> dict[str, Any]:
    """A command as the API shows it."""
    return {
        "id": command.id,
        "app_id": command.app,
        "command": command.command,
        "status": command.status,
        "requested_by": command.requested_by,
        "requested_at": command.requested_at,
        "published_at": command.published_at,
        "acknowledged_at": command.acknowledged_at,
        "acknowledged_by": command.acknowledged_by,
        "bulk_job_id": command.bulk_job_id,
        "error": command.error,
    }


def _command(command_id: str) -> Command:
    found = Command.get_or_none(Command.id == command_id)
    if found is None:
        raise NotFound(f"No command with id {command_id!r}.")
    return found


def _flag_holds(app: Apps | None, command: Command) -> bool:
    # One live command per app at most, so a live command whose value is in the flag is
    # the one the flag holds.
    return app is not None and app.command_flag is command.command


def get_command(command_id: str) -> dict[str, Any]:
    """A command's status; a live one whose flag a manager cleared is acknowledged now."""
    with connected():
        found = _command(command_id)
        if found.status in LIVE:
            app = Apps.get_or_none(Apps.id == found.app)
            if app is not None and not _flag_holds(app, found):
                with write_transaction():
                    app = apps.locked_app(found.app)
                    if not _flag_holds(app, found):
                        _retire(
                            Command.select(Command.id).where(Command.id == found.id),
                            CommandStatus.ACKNOWLEDGED,
                            by=FLAG_CLEARED,
                        )
                found = _command(command_id)
        return view(found)


def acknowledge(command_id: str, by: str) -> dict[str, Any]:
    """Mark a command acknowledged and clear the app's flag if it still holds it."""
    with connected():
        app_id = _command(command_id).app
        with write_transaction():
            app = locking(Apps.select().where(Apps.id == app_id)).first()  # lock order: app first
            found = _command(command_id)
            if found.status is CommandStatus.FAILED:
                raise Conflict(
                    f"Command {command_id} failed ({found.error}); nothing to acknowledge.",
                    field="status",
                )
            if found.status in LIVE:
                if app is not None and _flag_holds(app, found):
                    now = utcnow()
                    Apps.update(
                        {Apps.command_flag: CommandFlag.NONE, Apps.command_updated: now}
                    ).where(Apps.id == app.id).execute()
                _retire(
                    Command.select(Command.id).where(Command.id == found.id),
                    CommandStatus.ACKNOWLEDGED,
                    by=by[:254],
                )
        return view(_command(command_id))
