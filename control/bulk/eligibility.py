"""Whether a bulk command applies to an app now, and if not, why.

One rule for the dry run and for the worker that applies a job, so what a dry run
announces is what the job does (the app's state permitting). The rule for commands is
``control.commands.services.check_command``, the single-app endpoints' own; ENABLE and
DISABLE only skip an app already in the wanted state.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from control.apps.models import Apps
from control.commands.services import check_command
from control.enums import CommandFlag
from control.errors import Conflict


class SkipReason(StrEnum):
    """Why an app is skipped: a stable code for automation (the message is for people)."""

    DISABLED = "disabled"
    FATAL = "fatal"
    NOT_FATAL = "not_fatal"
    ALREADY_RUNNING = "already_running"
    NOT_RUNNING = "not_running"
    COMMAND_PENDING = "command_pending"
    ALREADY_DISABLED = "already_disabled"
    ALREADY_ENABLED = "already_enabled"


@dataclass(frozen=True)
class Verdict:
    """The rule's answer for one app: applies, or skipped with a reason and a message."""

    app_id: str
    reason: SkipReason | None = None
    message: str | None = None

    @property
    def applies(self) -> bool:
        """True when the command would be applied."""
        return self.reason is None


def _reason(command: CommandFlag, field: str | None) -> SkipReason:
    # check_command names the column that refused the command; the command tells
    # which way (a fatal app cannot START; a healthy one has nothing to RESET)
    if field == "disabled":
        return SkipReason.DISABLED
    if field == "fatal_flag":
        return SkipReason.NOT_FATAL if command is CommandFlag.RESET else SkipReason.FATAL
    if field == "run_status":
        return SkipReason.NOT_RUNNING if command is CommandFlag.STOP else SkipReason.ALREADY_RUNNING
    return SkipReason.COMMAND_PENDING


def verdict(command: str, app: Apps) -> Verdict:
    """Whether bulk ``command`` (START … DISABLE) applies to ``app`` in its current state."""
    if command in ("ENABLE", "DISABLE"):
        disabled = command == "DISABLE"
        if app.disabled != disabled:
            return Verdict(app.id)
        state = "disabled" if disabled else "enabled"
        reason = SkipReason.ALREADY_DISABLED if disabled else SkipReason.ALREADY_ENABLED
        return Verdict(app.id, reason, f"App {app.id!r} is already {state}.")
    flag = CommandFlag(command)
    try:
        check_command(flag, app)
    except Conflict as exc:
        return Verdict(app.id, _reason(flag, exc.field), exc.message)
    return Verdict(app.id)


def dry_run_view(command: str, verdicts: list[Verdict]) -> dict[str, object]:
    """What a dry run answers: the counts, then one verdict per matched app."""
    skipped: dict[str, int] = {}
    for found in verdicts:
        if found.reason is not None:
            skipped[found.reason.value] = skipped.get(found.reason.value, 0) + 1
    return {
        "dry_run": True,
        "command": command,
        "matched": len(verdicts),
        "would_apply": sum(found.applies for found in verdicts),
        "would_skip": sum(skipped.values()),
        "skipped_by_reason": dict(sorted(skipped.items())),
        "app_ids": [found.app_id for found in verdicts],
        "apps": [
            {
                "app_id": found.app_id,
                "outcome": "applied" if found.applies else "skipped",
                "reason": found.reason,
                "message": found.message,
            }
            for found in verdicts
        ],
    }
