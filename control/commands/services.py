"""Commands and configuration writes: each one transaction, locked on the app's row.

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
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from croniter import croniter
from peewee import ModelSelect

from control.apps import services as apps
from control.audit.models import AuditLog
from control.audit.services import redact
from control.commands import messages
from control.commands.models import LIVE, Command, CommandStatus, Outbox
from control.commands.wakeup import notify_outbox
from control.db.database import connected, database, dialect, write_transaction
from control.db.models import Apps, naive_utc, utcnow
from control.enums import CommandFlag, FatalFlag, RunStatus
from control.errors import Conflict, InvalidInput, NotFound, PreconditionFailed
from control.events import EventType, publish
from control.log_context import request_id_var

ACTIONS = {
    CommandFlag.START: "apps.start",
    CommandFlag.STOP: "apps.stop",
    CommandFlag.RESTART: "apps.restart",
    CommandFlag.RESET: "apps.reset",
}
STOPPABLE = (RunStatus.RUNNING, RunStatus.SCHEDULED, RunStatus.STOPPING)
FLAG_CLEARED = "manager (command_flag cleared)"
CONFIG_FIELDS = frozenset({"settings", "schedule", "timezone", "disabled", "next_run"})

# Set after every committed command: the in-process relay wakes instead of polling.
outbox_written = threading.Event()


@dataclass(frozen=True)
class Actor:
    """Who asks: the audit row's actor columns and the command's ``requested_by``."""

    subject: str
    kind: str = "user"  # user | service | api_key | cli | system
    role: str | None = None


# -- transactions ----------------------------------------------------------------------


def locking(query: ModelSelect) -> ModelSelect:
    """``SELECT ... FOR UPDATE`` where the dialect has it (SQLite serialises writers)."""
    return query.for_update() if dialect() == "postgresql" else query


def _locked_app(app_id: str) -> Apps:
    app = locking(Apps.select().where(Apps.id == app_id)).first()
    if app is None:
        raise NotFound(f"No app with id {app_id!r}.")
    return app


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
    query: ModelSelect, status: CommandStatus, *, by: str | None = None, error: str | None = None
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


def _live_commands(app_id: str) -> ModelSelect:
    return Command.select(Command.id).where(Command.app == app_id, Command.status.in_(LIVE))


def _write_audit(action: str, actor: Actor, summary: dict[str, Any], audit: Mapping[str, Any]):
    # The same row control.audit.services.record() writes, but on this transaction's
    # connection and without swallowing errors: no audit row, no command.
    fields: dict[str, Any] = {
        "action": action,
        "outcome": "success",
        "actor": actor.subject[:254],
        "actor_type": actor.kind,
        "role": actor.role,
        **audit,
    }
    fields["summary"] = redact({**dict(fields.get("summary") or {}), **summary})
    request_id = request_id_var.get()
    fields.setdefault("request_id", request_id if request_id != "-" else None)
    AuditLog.create(**fields)


def issue_command(
    app_id: str,
    command: CommandFlag | str,
    actor: Actor,
    *,
    bulk_job_id: str | None = None,
    audit: Mapping[str, Any] | None = None,
) -> Command:
    """Accept ``command`` for ``app_id``: flag, command, outbox and audit in one transaction.

    Raises NotFound for an unknown app and Conflict when the command makes no sense now
    (see ``check_command``). ``audit`` adds or overrides audit-row columns (the API passes
    the request's ip, method, endpoint, summary and status).
    """
    command = CommandFlag(command)
    if command is CommandFlag.NONE:
        raise InvalidInput("NONE is not a command.", field="command")
    with connected(), write_transaction():
        app = _locked_app(app_id)
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
        issued = Command.create(
            id=new_id,
            app=app.id,
            command=command,
            requested_by=actor.subject[:254],
            requested_at=now,
            bulk_job_id=bulk_job_id,
        )
        Outbox.create(
            kind="command",
            message_id=issued.id,
            routing_key=messages.routing_key(app.group, app.parent, app.id),
            payload=messages.command_body(
                command_id=issued.id,
                command=command.value,
                app_id=app.id,
                group=app.group,
                parent=app.parent,
                requested_at=now,
                requested_by=issued.requested_by,
            ).decode(),
            headers=messages.command_headers(command.value, app.id),
            created=now,
            available_at=now,
        )
        notify_outbox()  # wakes a relay in another process at commit
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
        Apps.update(values).where(Apps.id == app.id).execute()
        _write_audit(
            ACTIONS[command],
            actor,
            {"command_id": issued.id, "command": command.value, "app_id": app.id},
            audit or {},
        )
    # now, or when the caller's own transaction commits if this ran inside one
    database.after_commit(lambda: _after_commit(issued, actor))
    return issued


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
                    app = _locked_app(found.app)
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


# -- configuration ---------------------------------------------------------------------


def validate_schedule(expression: str) -> str:
    """A five-field cron expression, whitespace normalised; InvalidInput otherwise."""
    fields = expression.split()
    if len(fields) != 5 or not croniter.is_valid(" ".join(fields)):
        raise InvalidInput(
            "Not a valid cron expression: five fields (minute hour day month weekday).",
            field="schedule",
        )
    return " ".join(fields)


def validate_timezone(name: str) -> str:
    """An IANA time zone name such as ``Europe/Berlin``; InvalidInput otherwise."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"Unknown time zone {name!r}: use an IANA name such as 'Europe/Berlin'.",
            field="timezone",
        ) from None
    return name


def next_fire(schedule: str, timezone: str, after: dt.datetime) -> dt.datetime:
    """The first time after ``after`` (naive UTC) the schedule fires in ``timezone``, as UTC."""
    start = after.replace(tzinfo=dt.UTC).astimezone(zoneinfo.ZoneInfo(timezone))
    fire = croniter(schedule, start).get_next(dt.datetime)
    return fire.astimezone(dt.UTC).replace(tzinfo=None)


def update_app(
    app_id: str, changes: Mapping[str, Any], expected_version: int | None
) -> dict[str, Any]:
    """Write configuration fields if the app is still at ``expected_version``; the new detail.

    ``next_run`` is recomputed from the schedule when the schedule or time zone changes,
    unless the change sets it too. Every write bumps ``version``. ``expected_version``
    None skips the check (``If-Match: *``).
    """
    unknown = sorted(set(changes) - CONFIG_FIELDS)
    if unknown:
        raise InvalidInput(f"Not a configuration field: {', '.join(unknown)}.", field=unknown[0])
    if not changes:
        raise InvalidInput("Nothing to update.")
    with connected():
        with write_transaction():
            app = _locked_app(app_id)
            if expected_version is not None and app.version != expected_version:
                raise PreconditionFailed(
                    f"App {app_id!r} has changed since version {expected_version} "
                    f"(now {app.version}); read it again and reapply the change."
                )
            now = utcnow()
            values: dict[Any, Any] = {Apps.version: app.version + 1, Apps.updated: now}
            if "settings" in changes:
                if not isinstance(changes["settings"], dict):
                    raise InvalidInput("Settings must be a JSON object.", field="settings")
                values[Apps.settings] = changes["settings"]
            if "disabled" in changes:
                values[Apps.disabled] = bool(changes["disabled"])
            schedule, timezone = app.schedule, app.timezone
            if "schedule" in changes:
                raw = changes["schedule"]
                schedule = validate_schedule(raw) if raw is not None else None
                values[Apps.schedule] = schedule
            if "timezone" in changes:
                timezone = validate_timezone(changes["timezone"])
                values[Apps.timezone] = timezone
            if "next_run" in changes:
                values[Apps.next_run] = naive_utc(changes["next_run"])
            elif (schedule, timezone) != (app.schedule, app.timezone):
                values[Apps.next_run] = next_fire(schedule, timezone, now) if schedule else None
            Apps.update(values).where(Apps.id == app.id).execute()
        return apps.get_app(app_id)
