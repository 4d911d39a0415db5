"""Commands: ``POST /apps/{app_id}/start|stop|reset`` and ``/commands/{command_id}``."""

from __future__ import annotations

import falcon
import falcon.asgi

from control.commands import services
from control.commands.services import ACTIONS, Actor
from control.enums import CommandFlag
from web import envelope
from web.concurrency import run_db
from web.middleware.audit import entry_for
from web.openapi import operation
from web.schemas.commands import CommandAcceptedResponse, CommandResponse

API = "/api/v1"


def command_url(command_id: str) -> str:
    """Where a command's status is read."""
    return f"{API}/commands/{command_id}"


def _actor(req: falcon.asgi.Request) -> Actor:
    principal = req.context.principal
    return Actor(subject=principal.subject, kind=principal.kind, role=principal.role.value)


async def _issue(
    req: falcon.asgi.Request, resp: falcon.asgi.Response, app_id: str, command: CommandFlag
) -> None:
    req.context.audit_action = ACTIONS[command]
    # The command's transaction writes the audit row itself (as the middleware would for
    # a 202); a refusal rolls it back and the middleware records the refusal instead.
    resp.status = falcon.HTTP_202
    entry = entry_for(req, resp)
    audit = {"action": entry.action, **entry.fields} if entry is not None else None
    issued = await run_db(services.issue_command, app_id, command, _actor(req), audit=audit)
    req.context.audited = True
    url = command_url(issued.id)
    resp.location = url
    resp.media = envelope.single({"id": issued.id, "status": issued.status, "url": url})


class AppCommandsResource:
    """START, STOP and RESET for one app: accepted now, delivered by the outbox relay."""

    @operation(
        "Start an app",
        tags=["apps"],
        response=CommandAcceptedResponse,
        status=202,
        errors=(404, 409),
    )
    async def on_post_start(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, app_id: str
    ) -> None:
        """Send START. 409 when the app is disabled, fatal (reset it first), already
        running or stopping, or has another command pending."""
        await _issue(req, resp, app_id, CommandFlag.START)

    @operation(
        "Stop an app",
        tags=["apps"],
        response=CommandAcceptedResponse,
        status=202,
        errors=(404, 409),
    )
    async def on_post_stop(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, app_id: str
    ) -> None:
        """Send STOP. It supersedes a pending START; 409 when the app is not running,
        scheduled or stopping, or has another command pending."""
        await _issue(req, resp, app_id, CommandFlag.STOP)

    @operation(
        "Reset an app's fatal flag",
        tags=["apps"],
        response=CommandAcceptedResponse,
        status=202,
        errors=(404, 409),
    )
    async def on_post_reset(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, app_id: str
    ) -> None:
        """Clear the fatal flag, reason and failure count now, and send RESET so the
        manager knows. 409 when the app is not fatal or has a command pending."""
        await _issue(req, resp, app_id, CommandFlag.RESET)


class CommandsResource:
    """One command's status, and its acknowledgement by a manager."""

    @operation("Get a command", tags=["commands"], response=CommandResponse, errors=(404,))
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
    )
    async def on_post_ack(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, command_id: str
    ) -> None:
        """For managers that cannot write the Apps table: marks the command acknowledged
        and clears the app's command_flag if it still holds this command. Idempotent."""
        req.context.audit_action = "commands.ack"
        data = await run_db(services.acknowledge, command_id, req.context.principal.subject)
        resp.media = envelope.single(data | {"url": command_url(command_id)})
