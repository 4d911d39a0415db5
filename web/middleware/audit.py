"""The audit trail of the API: one row per write, refused writes included.

Every POST, PUT, PATCH and DELETE to a routed ``/api/v1/`` endpoint is recorded once the
answer is known: who (principal, role, IP), what (action, method, path, a summary of path
parameters and the validated body, secrets redacted by ``control.audit``), and how it
ended (status, outcome, request id). Writes refused before routing (rate limit, body
limit) are matched against the route table so they are recorded too.

Actions are named from the route: ``POST /apps/{app_id}/start`` is ``apps.start`` (a POST
to a path that is not a collection, i.e. has no GET, is a verb); other writes are the
nouns plus ``create``, ``update`` or ``delete`` (``PATCH /apps/{app_id}`` is
``apps.update``, ``POST /settings/api-keys`` is ``settings.api_keys.create``).

A resource may set ``req.context.audit_action`` to name the action itself, or
``req.context.audited = True`` when its service has already written the request's row
(in its own transaction, say). The session service does so for logins and service
tokens (``auth.login``, ``auth.login_failed``, ``auth.service``...), so those endpoints'
200 and 401 answers are left to it; the rest of their answers (throttled, invalid) are
recorded here.

Recording never breaks the answer: a failure is logged and the response goes out.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

import falcon.asgi

from control.audit import queries
from control.audit import services as audit
from control.db.database import database
from control.db.models import utcnow
from control.log_context import request_id_var
from web.media import dumps
from web.permissions import ROUTES

log = logging.getLogger(__name__)

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
API_PREFIX = "/api/v1/"
VERBS = {"POST": "create", "PUT": "update", "PATCH": "update", "DELETE": "delete"}
MAX_BODY_SUMMARY = 16 * 1024  # bytes of JSON kept from a request body

# The session service records these answers of these endpoints itself.
RECORDED_BY_SERVICE: dict[str, frozenset[int]] = {
    f"{API_PREFIX}auth/token": frozenset({200, 401}),  # auth.login, auth.login_failed
    f"{API_PREFIX}auth/service": frozenset({200, 401}),  # auth.service, auth.service_failed
}
# A refresh is recorded here, except a 401 for a reused token (auth.refresh_reuse).
REFRESH = f"{API_PREFIX}auth/refresh"
REFRESH_REUSE = "auth.refresh_reuse"


@dataclass
class Entry:
    """One audit row to write, and the row of the service that would replace it."""

    action: str
    fields: dict[str, Any]
    unless_recorded: str | None = None  # an action the service may have written instead
    since: dt.datetime = field(default_factory=utcnow)


def outcome_of(status: int) -> str:
    """success (2xx, 3xx), denied (401, 403), failed (other 4xx) or error (5xx)."""
    if status < 400:
        return "success"
    if status in (401, 403):
        return "denied"
    return "failed" if status < 500 else "error"


def _segments(path: str) -> list[str]:
    return [part for part in path.split("/") if part]


def _is_param(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}")


def match_route(path: str, method: str) -> str | None:
    """The route-table template ``method path`` falls on (literal segments win)."""
    parts = _segments(path)
    best: tuple[int, str] | None = None
    for template, routed_method in ROUTES:
        if routed_method != method or not template.startswith(API_PREFIX):
            continue
        pattern = _segments(template)
        if len(pattern) != len(parts):
            continue
        if all(_is_param(p) or p == part for p, part in zip(pattern, parts, strict=True)):
            literals = sum(not _is_param(p) for p in pattern)
            if best is None or literals > best[0]:
                best = (literals, template)
    return best[1] if best else None


def path_params(template: str, path: str) -> dict[str, str]:
    """The values of ``template``'s ``{name}`` segments in ``path``."""
    pattern, parts = _segments(template), _segments(path)
    if len(pattern) != len(parts):
        return {}
    return {
        p[1:-1].split(":")[0]: part for p, part in zip(pattern, parts, strict=True) if _is_param(p)
    }


def action_for(template: str, method: str) -> str:
    """The action a write to ``template`` performs, e.g. ``apps.start``, ``apps.update``."""
    segments = _segments(template[len(API_PREFIX) :])
    nouns = [s.replace("-", "_") for s in segments if not _is_param(s)]
    verb_endpoint = (
        method == "POST"
        and len(nouns) > 1
        and not _is_param(segments[-1])
        and (template, "GET") not in ROUTES
    )
    words = nouns if verb_endpoint else [*nouns, VERBS.get(method, method.lower())]
    return ".".join(words)[:64]


def _summary(req: falcon.asgi.Request, params: dict[str, str]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    if params:
        summary["params"] = params
    body = getattr(req.context, "body", None)
    if body is not None and hasattr(body, "model_dump"):
        # what the caller sent (validated), not the model's defaults
        sent = body.model_dump(mode="json", exclude_unset=True)
        if len(dumps(sent)) > MAX_BODY_SUMMARY:
            # a bulk payload is not worth a megabyte per audit row: its field names only
            sent = {
                "truncated": True,
                "fields": sorted(sent)[:50] if isinstance(sent, dict) else [],
            }
        summary["body"] = sent
    return summary  # record() redacts it


def _actor(req: falcon.asgi.Request) -> tuple[str, str, str | None]:
    principal = getattr(req.context, "principal", None)
    if principal is not None:
        return principal.subject, principal.kind, str(principal.role)
    # an anonymous login attempt is filed under the name it tried, as the service does
    body = getattr(req.context, "body", None)
    tried = getattr(body, "username", None) or getattr(body, "client_id", None)
    return (tried if isinstance(tried, str) and tried else "anonymous"), "anonymous", None


def entry_for(req: falcon.asgi.Request, resp: falcon.asgi.Response) -> Entry | None:
    """The row to write for this answer, or None when it is not audited here."""
    if req.method not in WRITE_METHODS or getattr(req.context, "audited", False):
        return None
    status = resp.status_code
    template = req.uri_template
    if template is None:
        # refused before routing (rate limit, body limit): find it in the route table
        template = match_route(req.path, req.method)
    if template is None or not template.startswith(API_PREFIX) or status == 405:
        return None
    if status in RECORDED_BY_SERVICE.get(template, ()):
        return None
    actor, actor_type, role = _actor(req)
    action = getattr(req.context, "audit_action", None) or action_for(template, req.method)
    return Entry(
        action=action[:64],
        fields={
            "outcome": outcome_of(status),
            "actor": actor,
            "actor_type": actor_type,
            "role": role,
            "ip": getattr(req.context, "client_ip", None) or req.remote_addr,
            "method": req.method,
            "endpoint": req.path,
            "summary": _summary(req, path_params(template, req.path)),
            "status": status,
        },
        unless_recorded=REFRESH_REUSE if template == REFRESH and status == 401 else None,
        since=getattr(req.context, "audit_started", None) or utcnow(),
    )


def write(entry: Entry) -> None:
    """Write the row (blocking), unless the service already wrote its own for the request."""
    request_id = request_id_var.get()
    if entry.unless_recorded and request_id != "-":
        with database.connection_context():
            if queries.recorded(entry.unless_recorded, request_id, entry.since):
                return
    audit.record(entry.action, **entry.fields)


class AuditMiddleware:
    """Records every write to the API once its answer is known (install it last)."""

    async def process_request(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        req.context.audit_started = utcnow()

    async def process_response(
        self,
        req: falcon.asgi.Request,
        resp: falcon.asgi.Response,
        resource: object,
        req_succeeded: bool,
    ) -> None:
        if req.method not in WRITE_METHODS or not req.path.startswith(API_PREFIX):
            return
        try:
            entry = entry_for(req, resp)
            if entry is not None:
                await asyncio.to_thread(write, entry)
        except Exception:
            # the path only, never the body or headers; the log filter escapes it
            log.exception("could not audit %s %s", req.method, req.uri_template or req.path)
