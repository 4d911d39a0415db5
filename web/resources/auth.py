"""``/api/v1/auth/*``: tokens for users and services, logout and the caller's profile."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial

import falcon
import falcon.asgi

from control.auth import users
from control.auth.sessions import SessionService, TokenPair
from web import envelope
from web.audit_context import audit_context
from web.openapi import operation
from web.permissions import PUBLIC, READ
from web.schemas.auth import (
    ClientCredentialsGrant,
    MeResponse,
    PasswordGrant,
    RefreshGrant,
    TokenResponse,
)

TAGS = ("auth",)


class _AuthBase:
    def __init__(self, sessions: SessionService) -> None:
        self.sessions = sessions

    async def _grant(
        self,
        req: falcon.asgi.Request,
        resp: falcon.asgi.Response,
        exchange: Callable[..., TokenPair],
        *credentials: str,
    ) -> None:
        """Answer the token pair ``exchange(*credentials, audit context)`` returns (the
        session service audits the grant itself)."""
        pair = await asyncio.to_thread(exchange, *credentials, audit_context(req))
        self._answer(resp, pair)

    def _answer(self, resp: falcon.asgi.Response, pair: TokenPair) -> None:
        lifetime = self.sessions.tokens.access_lifetime
        data = {
            "access_token": pair.access.token,
            "token_type": "bearer",
            "expires_in": int(lifetime.total_seconds()),
            "role": pair.role,
        }
        if pair.refresh is not None:
            data["refresh_token"] = pair.refresh.token
        resp.media = envelope.single(data)


# the three grants answer alike: a token pair, or 401/429
grant_operation = partial(
    operation,
    tags=TAGS,
    form=True,
    response=TokenResponse,
    errors=(401, 429),
    roles=PUBLIC,
)


class TokenResource(_AuthBase):
    @grant_operation("Log in (password grant)", body=PasswordGrant)
    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Exchange email and password for an access token and a one-time refresh token."""
        body: PasswordGrant = req.context.body
        await self._grant(req, resp, self.sessions.login, body.username, body.password)


class RefreshResource(_AuthBase):
    @grant_operation("Rotate a refresh token", body=RefreshGrant)
    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Use a refresh token once for a new pair; reusing a used one ends the session."""
        body: RefreshGrant = req.context.body
        await self._grant(req, resp, self.sessions.refresh, body.refresh_token)


class ServiceTokenResource(_AuthBase):
    @grant_operation("Service token (client credentials)", body=ClientCredentialsGrant)
    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """OAuth2 client credentials: an access token for a registered service client."""
        body: ClientCredentialsGrant = req.context.body
        await self._grant(
            req, resp, self.sessions.service_token, body.client_id, body.client_secret
        )


class LogoutResource(_AuthBase):
    @operation("Log out", tags=TAGS, status=204, errors=(401,), roles=READ)
    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Revoke the presented access token and its session's refresh tokens."""
        await asyncio.to_thread(self.sessions.logout, req.context.principal)
        resp.status = falcon.HTTP_204


class MeResource(_AuthBase):
    @operation("Who am I", tags=TAGS, response=MeResponse, errors=(401,), roles=READ)
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """The caller's identity, role and (for users) settings."""
        resp.media = envelope.single(await asyncio.to_thread(users.profile, req.context.principal))
