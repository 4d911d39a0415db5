"""Commands: the 202 answer to start/stop/reset and a command's status."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from control.commands.models import CommandStatus
from control.enums import CommandFlag


class CommandAccepted(BaseModel):
    id: str = Field(description="The command id; also the message_id on the wire.")
    status: CommandStatus
    url: str = Field(description="Where to follow the command (also in Location).")


class CommandAcceptedResponse(BaseModel):
    data: CommandAccepted


class CommandDetail(BaseModel):
    id: str
    app_id: str
    command: CommandFlag
    status: CommandStatus = Field(
        description="pending (in the outbox), published (confirmed by the broker), "
        "acknowledged (a manager took it), failed (superseded; see error)."
    )
    requested_by: str
    requested_at: dt.datetime
    published_at: dt.datetime | None
    acknowledged_at: dt.datetime | None
    acknowledged_by: str | None
    bulk_job_id: str | None
    error: str | None
    url: str


class CommandResponse(BaseModel):
    data: CommandDetail
