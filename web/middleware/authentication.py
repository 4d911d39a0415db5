"""Authentication and authorization of every routed request, from the declared roles.

Credentials come from ``Authorization: Bearer <jwt>`` or the API-key header, never the
query string. Public routes accept a valid credential (the detailed health uses it) and
ignore an invalid one; every other route needs one, and a role the table admits.
"""

from __future__ import annotations

import asyncio
from typing import Any

import falcon.asgi

from control.auth.credentials import CredentialVerifier
from control.auth.principal import Principal
from control.errors import Forbidden, Unauthenticated
from web.permissions import is_public
from web.routing import RouteTable


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
    """Sets ``req.context.principal``; raises 401/403 as the responder's roles say."""

    def __init__(
        self, credentials: CredentialVerifier, routes: RouteTable, key_header: str
    ) -> None:
        self.credentials = credentials
        self.routes = routes
        self.key_header = key_header

    async def process_request(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        req.context.principal = None

    async def _authenticate(self, req: falcon.asgi.Request) -> Principal | None:
        credential = presented_credential(req, self.key_header)
        if credential is None:
            return None
        kind, value = credential
        if kind == "bearer":
            # verified a moment ago: no thread, no round trip (control/auth/principal_cache.py)
            cached = self.credentials.cached_bearer(value)
            if cached is not None:
                return cached
            return await asyncio.to_thread(self.credentials.bearer, value)
        if kind == "api_key":
            return await asyncio.to_thread(self.credentials.api_key, value)
        raise Unauthenticated("Unsupported authorization scheme.")

    async def process_resource(
        self,
        req: falcon.asgi.Request,
        resp: falcon.asgi.Response,
        resource: object,
        params: dict[str, Any],
    ) -> None:
        # the template Falcon routed the request to: known from here on, not in
        # process_request
        template = req.uri_template
        if resource is None or template is None or req.method == "OPTIONS":
            return
        if not self.routes.is_routed(template, req.method):
            return  # Falcon answers 405 with Allow; nothing of the resource runs
        roles = self.routes.roles(template, req.method)
        if is_public(roles):
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
