"""The audit trail of the API: one row per write, refused writes included.

Every POST, PUT, PATCH and DELETE to a routed ``/api/v1/`` endpoint is recorded once:
by its service, when the service audits the write itself with the request's
:class:`~control.audit.context.AuditContext` (a command, a configuration change, a
login), else here once the answer is known: the refusals (401, 403, 409, 422, 429...)
and the writes of endpoints whose services keep no audit of their own. Writes refused
before routing (rate limit, body limit) are named from Falcon's router.

Actions are named from the route: ``POST /apps/{app_id}/start`` is ``apps.start`` (a POST
to a path that is not a collection, i.e. has no GET, is a verb); other writes are the
nouns plus ``create``, ``update`` or ``delete`` (``PATCH /apps/{app_id}`` is
``apps.update``, ``POST /settings/api-keys`` is ``settings.api_keys.create``). A
resource may set ``req.context.audit_action`` to name the action itself.

Recording never breaks the answer: a failure is logged and the response goes out.
"""

from __future__ import annotations

import asyncio
import logging

import falcon.asgi

from control.audit import services as audit
from web.audit_context import audit_context, is_param
from web.routing import RouteTable

log = logging.getLogger(__name__)

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
API_PREFIX = "/api/v1/"
VERBS = {"POST": "create", "PUT": "update", "PATCH": "update", "DELETE": "delete"}


def outcome_of(status: int) -> str:
    """success (2xx, 3xx), denied (401, 403), failed (other 4xx) or error (5xx)."""
    if status < 400:
        return "success"
    if status in (401, 403):
        return "denied"
    return "failed" if status < 500 else "error"


def action_for(template: str, method: str, routes: RouteTable) -> str:
    """The action a write to ``template`` performs, e.g. ``apps.start``, ``apps.update``."""
    segments = [s for s in template[len(API_PREFIX) :].split("/") if s]
    nouns = [s.replace("-", "_") for s in segments if not is_param(s)]
    verb_endpoint = (
        method == "POST"
        and len(nouns) > 1
        and not is_param(segments[-1])
        and not routes.is_routed(template, "GET")
    )
    words = nouns if verb_endpoint else [*nouns, VERBS.get(method, method.lower())]
    return ".".join(words)[:64]


class AuditMiddleware:
    """Records the writes no service recorded, once their answer is known (install it
    last)."""

    def __init__(self, routes: RouteTable) -> None:
        self.routes = routes

    def _template(self, req: falcon.asgi.Request) -> str | None:
        # refused before routing (rate limit, body limit): the router names it
        template = req.uri_template or self.routes.template_for(req.path, req.method)
        return template if template and template.startswith(API_PREFIX) else None

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
            template = self._template(req)
            status = resp.status_code
            if template is None or status == 405:
                return
            context = audit_context(req, template=template)
            if context.recorded:
                return  # its service wrote the request's row
            action = getattr(req.context, "audit_action", None) or action_for(
                template, req.method, self.routes
            )
            await asyncio.to_thread(
                audit.record,
                context,
                action,
                outcome=outcome_of(status),
                status=status,
            )
        except Exception:
            # the path only, never the body or headers; the log filter escapes it
            log.exception("could not audit %s %s", req.method, req.uri_template or req.path)
