"""``/api/v1/notifications``: channels (admins), the delivery history, test sends."""

from __future__ import annotations

import contextlib

import falcon
import falcon.asgi

from control.errors import Unavailable
from control.notifications import deliveries
from control.notifications import services as channels
from control.notifications.models import DeliveryStatus
from control.notifications.routing import enqueue_all, sender
from control.tasks.interface import TaskQueue
from web import envelope
from web.concurrency import run_db, run_send
from web.cursor import CursorCodec
from web.openapi import operation
from web.permissions import ADMIN, READ
from web.routing import uri_template
from web.schemas.notifications import (
    ChannelCreate,
    ChannelListQuery,
    ChannelListResponse,
    ChannelPatch,
    ChannelResponse,
    DeliveryResponse,
    HistoryQuery,
    HistoryResponse,
)

TAGS = ("notifications",)
CHANNELS_PATH = "/api/v1/notifications/channels"


class ChannelsResource:
    """Notification channels. Secrets are write-only: never in an answer."""

    @operation(
        "List notification channels",
        tags=TAGS,
        query=ChannelListQuery,
        response=ChannelListResponse,
        errors=(401, 403),
        roles=ADMIN,
    )
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Every channel by name, each secret shown only as ``<name>_set``."""
        q: ChannelListQuery = req.context.query
        page = await run_db(channels.list_channels, q.page, q.per_page)
        resp.media = envelope.offset_page(page, page.rows)

    @operation(
        "Create a notification channel",
        tags=TAGS,
        body=ChannelCreate,
        response=ChannelResponse,
        status=201,
        errors=(401, 403, 409),
        roles=ADMIN,
    )
    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Telegram, email or webhook; ``config`` is checked for the type (422 names the
        field), the name must be free (409)."""
        body: ChannelCreate = req.context.body
        data = await run_db(channels.create_channel, **body.model_dump())
        resp.status = falcon.HTTP_201
        resp.set_header("Location", f"{CHANNELS_PATH}/{data['id']}")
        resp.media = envelope.single(data)

    @operation(
        "Get a notification channel",
        tags=TAGS,
        response=ChannelResponse,
        errors=(401, 403, 404),
        roles=ADMIN,
    )
    async def on_get_item(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, channel_id: int
    ) -> None:
        """One channel, secrets shown only as ``<name>_set``."""
        channel = await run_db(channels.get_channel, channel_id)
        resp.media = envelope.single(await run_db(channels.item, channel))

    @operation(
        "Change a notification channel",
        tags=TAGS,
        body=ChannelPatch,
        response=ChannelResponse,
        errors=(401, 403, 404, 409),
        roles=ADMIN,
    )
    async def on_patch_item(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, channel_id: int
    ) -> None:
        """Change fields; ``config`` merges over the stored one and is checked again, so
        a PATCH without a secret keeps it."""
        body: ChannelPatch = req.context.body
        data = await run_db(channels.update_channel, channel_id, body.changes())
        resp.media = envelope.single(data)

    @operation(
        "Delete a notification channel", tags=TAGS, status=204, errors=(401, 403, 404), roles=ADMIN
    )
    async def on_delete_item(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, channel_id: int
    ) -> None:
        """Delete the channel; its history stays, under the channel's name."""
        await run_db(channels.delete_channel, channel_id)
        resp.status = falcon.HTTP_204


class HistoryResource:
    """What was sent where, and how it went."""

    def __init__(self, cursors: CursorCodec) -> None:
        self.codec = cursors

    @operation(
        "Notification history",
        tags=TAGS,
        query=HistoryQuery,
        response=HistoryResponse,
        errors=(400, 401),
        roles=READ,
    )
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Deliveries newest first, with status, attempts, last error and latency; filter
        by channel, status or event. Open to every role, like the logs: a delivery holds
        an event's title and text, never a channel's settings."""
        q: HistoryQuery = req.context.query
        scope = uri_template(req)
        after = self.codec.decode(scope, q.cursor) if q.cursor else None
        history_filter = deliveries.HistoryFilter(
            channel_id=q.channel_id,
            status=DeliveryStatus(q.status) if q.status else None,
            event=q.event,
        )
        items, key = await run_db(deliveries.list_history, history_filter, after, q.limit)
        next_cursor = self.codec.encode(scope, key) if key else None
        resp.media = envelope.cursor_page(items, next_cursor, q.limit)


class TestSendResource:
    """A test notification through one channel."""

    def __init__(self, tasks: TaskQueue) -> None:
        self._send = sender(tasks)

    @operation(
        "Send a test notification",
        tags=TAGS,
        response=DeliveryResponse,
        status=202,
        errors=(401, 403, 404),
        roles=ADMIN,
    )
    async def on_post(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, channel_id: int
    ) -> None:
        """Queue a test message to the channel (even a disabled one) and answer at once
        with the queued delivery; a worker sends it. Follow it in the history."""
        req.context.audit_action = "notifications.test"
        actor = req.context.principal.subject
        data = await run_db(deliveries.create_test, channel_id, actor)
        # after the commit, on the senders' executor; a broker outage or alarm leaves
        # the row queued for the sweep
        with contextlib.suppress(Unavailable):
            await run_send(enqueue_all, [data["id"]], self._send)
        resp.status = falcon.HTTP_202
        resp.media = envelope.single(data)
