"""``/api/v1/settings`` and ``/api/v1/settings/api-keys``: the caller's own things.

Every responder here admits human roles only (viewer, operator, admin). Everything here is
the caller's own: settings and keys are found by the principal's ``user_id``, so a key
of another user is simply not found (404), never forbidden (which would confirm it).

Who may do what:

* a user (logged in with a bearer token) may read and change their settings, and list,
  create and revoke their keys;
* an API key (``kind == "api_key"``) acts for its user with the key's role: it may
  read and change the user's settings and list the user's keys, but may not create or
  revoke keys (403). A key must not mint keys, or a leaked key could outlive its own
  revocation through a child; and revoking is key management too, so a leaked key
  cannot lock its owner's automation out either. Managing keys needs a login;
* a principal without a user (a service client, whatever its role) gets 403.
"""

from __future__ import annotations

from typing import Any

import falcon
import falcon.asgi

from control.auth import api_keys, user_settings
from control.auth.models import ApiKey
from control.auth.principal import Principal
from control.errors import Forbidden
from web import envelope
from web.concurrency import run_db
from web.openapi import operation
from web.permissions import HUMAN
from web.schemas.settings import (
    ApiKeyCreate,
    ApiKeyCreatedResponse,
    ApiKeyListQuery,
    ApiKeyListResponse,
    SettingsPatch,
    UserSettingsResponse,
)
from web.wiring import LiveSettings

TAGS = ("settings",)
KEYS_PATH = "/api/v1/settings/api-keys"


def _user_id(req: falcon.asgi.Request) -> int:
    principal: Principal = req.context.principal
    if principal.user_id is None:
        raise Forbidden("Only users have settings and API keys.")
    return principal.user_id


def _refuse_key_management(req: falcon.asgi.Request, action: str) -> None:
    if req.context.principal.kind == "api_key":
        raise Forbidden(f"An API key cannot {action} API keys; log in to manage keys.")


def _item(row: ApiKey) -> dict[str, Any]:
    return {
        "id": row.id,
        "prefix": row.prefix,
        "name": row.name,
        "role": row.role,
        "created": row.created,
        "last_used": row.last_used,
    }


class SettingsResource:
    """The caller's settings: time zone and display preferences."""

    @operation(
        "Get my settings", tags=TAGS, response=UserSettingsResponse, errors=(401, 403), roles=HUMAN
    )
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """The caller's settings, defaults filled in."""
        data = await run_db(user_settings.get_settings, _user_id(req))
        resp.media = envelope.single(data)

    @operation(
        "Change my settings",
        tags=TAGS,
        body=SettingsPatch,
        response=UserSettingsResponse,
        errors=(401, 403),
        roles=HUMAN,
    )
    async def on_patch(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Merge the given keys into the caller's settings (``null`` restores a default).

        An unknown time zone is a 400 naming ``timezone``; unknown keys are a 422.
        """
        body: SettingsPatch = req.context.body
        changes = body.model_dump(exclude_unset=True)
        data = await run_db(user_settings.update_settings, _user_id(req), changes)
        resp.media = envelope.single(data)


class ApiKeysResource:
    """The caller's API keys: list, create (the whole key shown once), revoke."""

    def __init__(self, live: LiveSettings) -> None:
        self.live = live

    @operation(
        "List my API keys",
        tags=TAGS,
        query=ApiKeyListQuery,
        response=ApiKeyListResponse,
        errors=(401, 403),
        roles=HUMAN,
    )
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """The caller's keys that are not revoked, newest first; never the key or its hash."""
        q: ApiKeyListQuery = req.context.query
        page = await run_db(api_keys.key_page, _user_id(req), q.page, q.per_page)
        resp.media = envelope.offset_page(page, [_item(row) for row in page.rows])

    @operation(
        "Create an API key",
        tags=TAGS,
        body=ApiKeyCreate,
        response=ApiKeyCreatedResponse,
        status=201,
        errors=(401, 403, 409),
        roles=HUMAN,
    )
    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Create a key with the caller's role or a lower one; answers the whole key once.

        Send it in the API-key header (``X-API-Key`` unless configured otherwise), never
        in the query string. An API key cannot create keys (403).
        """
        _refuse_key_management(req, "create")
        body: ApiKeyCreate = req.context.body
        principal: Principal = req.context.principal
        limit = self.live.settings.api_keys_per_user
        new = await run_db(
            api_keys.create_for_caller,
            _user_id(req),
            principal.role,
            body.name,
            body.role,
            limit=limit,
        )
        resp.status = falcon.HTTP_201
        resp.set_header("Location", f"{KEYS_PATH}/{new.row.id}")
        resp.media = envelope.single({**_item(new.row), "key": new.key})

    @operation("Revoke an API key", tags=TAGS, status=204, errors=(401, 403, 404), roles=HUMAN)
    async def on_delete_item(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, key_id: int
    ) -> None:
        """Revoke one of the caller's keys; it stops working at once. An API key cannot."""
        _refuse_key_management(req, "revoke")
        await run_db(api_keys.revoke_key, _user_id(req), key_id)
        resp.status = falcon.HTTP_204
