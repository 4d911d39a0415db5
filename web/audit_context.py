"""The request's :class:`~control.audit.context.AuditContext`, built once per request.

Resources hand it to the services that audit their own writes (in their transaction);
the audit middleware (web/middleware/audit.py) records the answers no service recorded
with it. It holds who asks (the principal, or for an anonymous login attempt the name it
tried), from where, the method and path, and a summary of the request: the path
parameters and the validated body (what the caller sent, at most 16 KiB of JSON, else
its field names; secrets are redacted when the row is written). A body model may
define ``audit_summary()`` to say what of it an audit row may keep.
"""

from __future__ import annotations

from typing import Any

import falcon.asgi

from control.audit.context import ANONYMOUS, Actor, AuditContext
from web.media import dumps

MAX_BODY_SUMMARY = 16 * 1024  # bytes of JSON kept from a request body


def _segments(path: str) -> list[str]:
    return [part for part in path.split("/") if part]


def is_param(segment: str) -> bool:
    """Whether a route template's segment is a ``{name}`` (or ``{name:converter}``)."""
    return segment.startswith("{") and segment.endswith("}")


def path_params(template: str, path: str) -> dict[str, str]:
    """The values of ``template``'s ``{name}`` segments in ``path``, as sent."""
    pattern, parts = _segments(template), _segments(path)
    if len(pattern) != len(parts):
        return {}
    return {
        p[1:-1].split(":")[0]: part for p, part in zip(pattern, parts, strict=True) if is_param(p)
    }


def _body_summary(body: Any) -> Any:
    if hasattr(body, "audit_summary"):
        return body.audit_summary()
    # what the caller sent (validated), not the model's defaults
    sent = body.model_dump(mode="json", exclude_unset=True)
    if len(dumps(sent)) > MAX_BODY_SUMMARY:
        # a bulk payload is not worth a megabyte per audit row: its field names only
        return {"truncated": True, "fields": sorted(sent)[:50] if isinstance(sent, dict) else []}
    return sent


def _summary(req: falcon.asgi.Request, template: str | None) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    params = path_params(template, req.path) if template else {}
    if params:
        summary["params"] = params
    body = getattr(req.context, "body", None)
    if body is not None and hasattr(body, "model_dump"):
        summary["body"] = _body_summary(body)
    return summary


def _actor(req: falcon.asgi.Request) -> Actor:
    principal = getattr(req.context, "principal", None)
    if principal is not None:
        return Actor(principal.subject, principal.kind, str(principal.role))
    # an anonymous login attempt is filed under the name it tried, as the service does
    body = getattr(req.context, "body", None)
    tried = getattr(body, "username", None) or getattr(body, "client_id", None)
    return Actor(tried, "anonymous") if isinstance(tried, str) and tried else ANONYMOUS


def audit_context(
    req: falcon.asgi.Request, *, status: int | None = None, template: str | None = None
) -> AuditContext:
    """The request's audit context (built on first use, then the same object).

    ``status`` is the answer's status when the service succeeds (stored on its rows);
    ``template`` the route template of a request refused before routing.
    """
    context: AuditContext | None = getattr(req.context, "audit", None)
    if context is None:
        context = AuditContext(
            actor=_actor(req),
            ip=getattr(req.context, "client_ip", None) or req.remote_addr,
            method=req.method,
            endpoint=req.path,
            summary=_summary(req, req.uri_template or template),
        )
        req.context.audit = context
    if status is not None:
        context.status = status
    return context
