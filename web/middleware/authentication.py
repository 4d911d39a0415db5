"""Authentication and authorization of every routed request, from the route table.

Credentials come from ``Authorization: Bearer <jwt>`` or the API-key header, never the
query string. Public routes accept a valid credential (the detailed health uses it) and
ignore an invalid one; every other route needs one, and a role the table admits.
"""

from __future__ import annotations

import asyncio

import falcon.asgi

from control.auth.principal import Principal
from control.errors import Forbidden, Unauthenticated
from web.permissions import PUBLIC, allowed_roles
from web.routing import iter_routes
from web.wiring import Services


def presented_credential(req: falcon.Request, key_header: str) -> tuple[str, str] | None:
    """('bearer', token) or ('api_key', key) from the headers, or None."""
    authorization = req.get_header("Authorization")
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return "bearer", value.strip()
        return "invalid", ""
    key = req.get_header(key_header)
    if key:
        return "api_key", key.strip()
    return None


class AuthenticationMiddleware:
    """Sets ``req.context.principal``; raises 401/403 as the route table says."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.key_header = services.settings.api_key_header
        self._app: falcon.asgi.App | None = None
        self._routed: frozenset[tuple[str, str]] | None = None

    def attach(self, app: falcon.asgi.App) -> None:
        """Give the middleware its app, to know which (route, method) pairs exist."""
        self._app = app

    def _is_routed(self, path: str, method: str) -> bool:
        # Built on first use: every route is added by then (tests add theirs after
        # create_app, before the first request).
        if self._routed is None and self._app is not None:
            self._routed = frozenset((r.path, r.method) for r in iter_routes(self._app))
        return self._routed is None or (path, method) in self._routed

    async def process_request(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        req.context.principal = None

    async def _authenticate(self, req: falcon.asgi.Request) -> Principal | None:
        credential = presented_credential(req, self.key_header)
        if credential is None:
            return None
        kind, value = credential
        if kind == "bearer":
            return await asyncio.to_thread(self.services.credentials.bearer, value)
        if kind == "api_key":
            return await asyncio.to_thread(self.services.credentials.api_key, value)
        raise Unauthenticated("Unsupported authorization scheme.")

    async def process_resource(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, resource: object, params: dict
    ) -> None:
        if resource is None or req.method == "OPTIONS":
            return
        if not self._is_routed(req.uri_template, req.method):
            return  # Falcon answers 405 with Allow; nothing of the resource runs
        roles = allowed_roles(req.uri_template, req.method)
        if roles is PUBLIC:
            try:
                req.context.principal = await self._authenticate(req)
            except Unauthenticated:
                req.context.principal = None
            return
        principal = await self._authenticate(req)
        if principal is None:
            raise Unauthenticated("Authentication required.")
        req.context.principal = principal
        if roles is None or principal.role not in roles:
            raise Forbidden("Your role does not allow this action.")
