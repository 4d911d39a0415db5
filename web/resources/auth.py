"""``/api/v1/auth/*``: tokens for users and services, logout and the caller's profile."""

from __future__ import annotations

import asyncio

import falcon
import falcon.asgi

from control.auth.models import User
from control.auth.sessions import TokenPair
from control.db.database import database
from web import envelope
from web.openapi import operation
from web.schemas.auth import (
    ClientCredentialsGrant,
    MeResponse,
    PasswordGrant,
    RefreshGrant,
    TokenResponse,
)
from web.wiring import Services

TAGS = ("auth",)


class _AuthBase:
    def __init__(self, services: Services) -> None:
        self.services = services

    def _answer(self, resp: falcon.asgi.Response, pair: TokenPair) -> None:
        lifetime = self.services.tokens.access_lifetime
        data = {
            "access_token": pair.access.token,
            "token_type": "bearer",
            "expires_in": int(lifetime.total_seconds()),
            "role": pair.role,
        }
        if pair.refresh is not None:
            data["refresh_token"] = pair.refresh.token
        resp.media = envelope.single(data)


class TokenResource(_AuthBase):
    @operation(
        "Log in (password grant)",
        tags=TAGS,
        body=PasswordGrant,
        form=True,
        response=TokenResponse,
        public=True,
        errors=(401, 429),
    )
    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Exchange email and password for an access token and a one-time refresh token."""
        body: PasswordGrant = req.context.body
        pair = await asyncio.to_thread(
            self.services.sessions.login, body.username, body.password, req.context.client_ip
        )
        self._answer(resp, pair)


class RefreshResource(_AuthBase):
    @operation(
        "Rotate a refresh token",
        tags=TAGS,
        body=RefreshGrant,
        form=True,
        response=TokenResponse,
        public=True,
        errors=(401, 429),
    )
    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Use a refresh token once for a new pair; reusing a used one ends the session."""
        body: RefreshGrant = req.context.body
        pair = await asyncio.to_thread(
            self.services.sessions.refresh, body.refresh_token, req.context.client_ip
        )
        self._answer(resp, pair)


class ServiceTokenResource(_AuthBase):
    @operation(
        "Service token (client credentials)",
        tags=TAGS,
        body=ClientCredentialsGrant,
        form=True,
        response=TokenResponse,
        public=True,
        errors=(401, 429),
    )
    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """OAuth2 client credentials: an access token for a registered service client."""
        body: ClientCredentialsGrant = req.context.body
        pair = await asyncio.to_thread(
            self.services.sessions.service_token,
            body.client_id,
            body.client_secret,
            req.context.client_ip,
        )
        self._answer(resp, pair)


class LogoutResource(_AuthBase):
    @operation("Log out", tags=TAGS, status=204, errors=(401,))
    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Revoke the presented access token and its session's refresh tokens."""
        await asyncio.to_thread(self.services.sessions.logout, req.context.principal)
        resp.status = falcon.HTTP_204


def _profile(principal) -> dict:
    data = {"subject": principal.subject, "kind": principal.kind, "role": principal.role}
    if principal.user_id is not None:
        with database.connection_context():
            user = User.get_by_id(principal.user_id)
        data["settings"] = user.settings
    return data


class MeResource(_AuthBase):
    @operation("Who am I", tags=TAGS, response=MeResponse, errors=(401,))
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """The caller's identity, role and (for users) settings."""
        resp.media = envelope.single(await asyncio.to_thread(_profile, req.context.principal))
