"""Commands: ``POST /apps/{app_id}/start|stop|reset`` and ``/commands/{command_id}``."""

from __future__ import annotations

import falcon
import falcon.asgi

from control.commands import services
from control.commands.services import ACTIONS
from control.enums import CommandFlag
from web import envelope
from web.audit_context import audit_context
from web.concurrency import run_db
from web.openapi import Responder, operation
from web.permissions import COMMAND, READ
from web.schemas.commands import CommandAcceptedResponse, CommandResponse

API = "/api/v1"


def command_url(command_id: str) -> str:
    """Where a command's status is read."""
    return f"{API}/commands/{command_id}"


async def _issue(
    req: falcon.asgi.Request, resp: falcon.asgi.Response, app_id: str, command: CommandFlag
) -> None:
    req.context.audit_action = ACTIONS[command]  # the name of a refusal's row too
    # The command's transaction writes the audit row; a refusal rolls it back and the
    # audit middleware records the refusal instead.
    context = audit_context(req, status=202)
    issued = await run_db(services.issue_command, app_id, command, context)
    resp.status = falcon.HTTP_202
    url = command_url(issued.id)
    resp.location = url
    resp.media = envelope.single({"id": issued.id, "status": issued.status, "url": url})


def _command_responder(summary: str, command: CommandFlag, doc: str) -> Responder:
    """``POST /apps/{app_id}/<verb>``: issue ``command`` (202), as ``doc`` says."""

    async def responder(
        self: object, req: falcon.asgi.Request, resp: falcon.asgi.Response, app_id: str
    ) -> None:
        await _issue(req, resp, app_id, command)

    responder.__doc__ = doc
    declare = operation(
        summary,
        tags=["apps"],
        response=CommandAcceptedResponse,
        status=202,
        errors=(404, 409),
        roles=COMMAND,
    )
    return declare(responder)


class AppCommandsResource:
    """START, STOP and RESET for one app: accepted now, delivered by the outbox relay."""

    on_post_start = _command_responder(
        "Start an app",
        CommandFlag.START,
        """Send START. 409 when the app is disabled, fatal (reset it first), already
        running or stopping, or has another command pending.""",
    )
    on_post_stop = _command_responder(
        "Stop an app",
        CommandFlag.STOP,
        """Send STOP. It supersedes a pending START; 409 when the app is not running,
        scheduled or stopping, or has another command pending.""",
    )
    on_post_reset = _command_responder(
        "Reset an app's fatal flag",
        CommandFlag.RESET,
        """Clear the fatal flag, reason and failure count now, and send RESET so the
        manager knows. 409 when the app is not fatal or has a command pending.""",
    )


class CommandsResource:
    """One command's status, and its acknowledgement by a manager."""

    @operation(
        "Get a command", tags=["commands"], response=CommandResponse, errors=(404,), roles=READ
    )
    async def on_get_item(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, command_id: str
    ) -> None:
        """pending → published → acknowledged (or failed when superseded)."""
        data = await run_db(services.get_command, command_id)
        resp.media = envelope.single(data | {"url": command_url(command_id)})

    @operation(
        "Acknowledge a command",
        tags=["commands"],
        response=CommandResponse,
        errors=(404, 409),
        roles=COMMAND,
    )
    async def on_post_ack(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, command_id: str
    ) -> None:
        """For managers that cannot write the Apps table: marks the command acknowledged
        and clears the app's command_flag if it still holds this command. Idempotent."""
        req.context.audit_action = "commands.ack"
        data = await run_db(services.acknowledge, command_id, req.context.principal.subject)
        resp.media = envelope.single(data | {"url": command_url(command_id)})
