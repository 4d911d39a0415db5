"""The delivery history: one row per notification per channel, and each send attempt.

A row is committed (``queued``) before its send is enqueued. Each attempt claims it
(``sending``), sends outside any transaction, then records the outcome: ``sent``,
``queued`` again for a retry, or ``failed``. :func:`stale` finds rows whose enqueue was
lost (a broker outage, a crashed in-process worker) so they can be enqueued again.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from control.audit.services import REDACTED
from control.clock import utcnow
from control.db.database import connected, write_transaction
from control.errors import NotFound
from control.events import EventType, publish
from control.notifications.interfaces import DeliveryFailed, Message, Sender
from control.notifications.models import (
    DeliveryStatus,
    NotificationChannel,
    NotificationDelivery,
    Severity,
)
from control.notifications.secrets import SecretsUnreadable
from control.notifications.services import channel_settings
from control.querying import keyset_page

log = logging.getLogger(__name__)

MAX_ERROR = 1000
BOT_PATH = re.compile(r"/bot[^/\s]+/")
ORDER = ((NotificationDelivery.id, True),)
TEST_EVENT = "test"
# How long a claim holds a delivery: longer than the send actor's time limit, so a live
# attempt is never taken over; after it, the row's worker is presumed dead.
SENDING_LEASE = dt.timedelta(minutes=2)


def scrub(text: str, secrets: Mapping[str, Any] | None = None) -> str:
    """``text`` without any secret value of the channel, truncated for the history."""
    for value in (secrets or {}).values():
        if isinstance(value, str) and len(value) >= 4:
            text = text.replace(value, REDACTED)
    text = BOT_PATH.sub(f"/bot{REDACTED}/", text)  # a Telegram token in a URL
    return text if len(text) <= MAX_ERROR else text[: MAX_ERROR - 1] + "…"


def one_line(text: str, limit: int) -> str:
    """``text`` on one line (no header injection through a title), at most ``limit``."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def history_item(d: NotificationDelivery) -> dict[str, Any]:
    """The API's view of a delivery."""
    return {
        "id": d.id,
        "channel_id": d.channel_id,
        "channel": d.channel_name,
        "event": d.event,
        "severity": d.severity.value,
        "title": d.title,
        "body": d.body,
        "dedup_key": d.dedup_key,
        "status": d.status.value,
        "attempts": d.attempts,
        "last_error": d.last_error,
        "latency_ms": d.latency_ms,
        "created": d.created,
        "updated": d.updated,
        "sent_at": d.sent_at,
    }


@dataclass(frozen=True)
class HistoryFilter:
    """History filters; None means any."""

    channel_id: int | None = None
    status: DeliveryStatus | None = None
    event: str | None = None


def list_history(
    f: HistoryFilter, after: Sequence[Any] | None, limit: int
) -> tuple[list[dict[str, Any]], tuple[Any, ...] | None]:
    """One page of deliveries, newest first, after the row key ``after``."""
    query = NotificationDelivery.select()
    if f.channel_id is not None:
        query = query.where(NotificationDelivery.channel == f.channel_id)
    if f.status is not None:
        query = query.where(NotificationDelivery.status == f.status)
    if f.event is not None:
        query = query.where(NotificationDelivery.event == f.event)
    rows, key = keyset_page(query, ORDER, after, limit)
    return [history_item(r) for r in rows], key


def create(
    channel: NotificationChannel,
    *,
    event: str,
    severity: Severity,
    title: str,
    body: str = "",
    data: Mapping[str, Any] | None = None,
    dedup_key: str | None = None,
) -> NotificationDelivery:
    """A queued delivery to ``channel`` (in the caller's transaction)."""
    return NotificationDelivery.create(
        channel=channel,
        channel_name=channel.name,
        event=event,
        severity=severity,
        title=one_line(title, 200),
        body=body[:10_000],
        data=dict(data or {}),
        dedup_key=dedup_key[:255] if dedup_key else None,
    )


def create_test(channel_id: int, actor: str) -> dict[str, Any]:
    """A queued test notification to one channel (sent even when it is disabled)."""
    with write_transaction():
        channel = NotificationChannel.get_or_none(NotificationChannel.id == channel_id)
        if channel is None:
            raise NotFound(f"No notification channel {channel_id}.")
        delivery = create(
            channel,
            event=TEST_EVENT,
            severity=Severity.INFO,
            title=f"Test notification for {channel.name}",
            body=f"Sent by {actor} from Data Collector Control to check this channel.",
        )
    return history_item(delivery)


def stale(older_than: dt.timedelta, limit: int = 500) -> list[int]:
    """Ids of deliveries queued or sending for longer than ``older_than``; marks them
    re-queued now so the next sweep leaves them alone while they wait again."""
    cutoff = utcnow() - older_than
    with connected(), write_transaction():
        ids = [
            row.id
            for row in NotificationDelivery.select(NotificationDelivery.id)
            .where(
                NotificationDelivery.status.in_([DeliveryStatus.QUEUED, DeliveryStatus.SENDING]),
                NotificationDelivery.updated < cutoff,
            )
            .order_by(NotificationDelivery.id)
            .limit(limit)
        ]
        if ids:
            NotificationDelivery.update(status=DeliveryStatus.QUEUED, updated=utcnow()).where(
                NotificationDelivery.id.in_(ids)
            ).execute()
    return ids


@dataclass(frozen=True)
class Attempt:
    """What one attempt came to: ``sent``; ``skipped`` (gone or already sent); ``retry``;
    ``failed`` (retryable, but no retry is left); ``abandoned`` (retrying cannot help)."""

    outcome: str
    error: str | None = None


def _claim(delivery_id: int) -> NotificationDelivery | None:
    """The delivery if this attempt won it, else None: ONE compare-and-set takes a row
    that is queued, or sending under an expired lease (its worker died), to sending.
    Two copies of one message (a redelivery, a sweep's re-send) race on this statement
    and exactly one wins; the loser sends nothing."""
    now = utcnow()
    claimable = (NotificationDelivery.status == DeliveryStatus.QUEUED) | (
        (NotificationDelivery.status == DeliveryStatus.SENDING)
        & (NotificationDelivery.updated < now - SENDING_LEASE)
    )
    with write_transaction():
        won = (
            NotificationDelivery.update(status=DeliveryStatus.SENDING, updated=now)
            .where(NotificationDelivery.id == delivery_id, claimable)
            .execute()
        )
        if not won:
            return None  # gone, sent, failed, or another attempt holds it
        return NotificationDelivery.get_by_id(delivery_id)


def requeue_failed(delivery_id: int) -> None:
    """Put a failed delivery back to queued before its dead message is sent again (an
    admin's requeue), so that the next attempt can claim it."""
    with connected(), write_transaction():
        NotificationDelivery.update(status=DeliveryStatus.QUEUED, updated=utcnow()).where(
            NotificationDelivery.id == delivery_id,
            NotificationDelivery.status == DeliveryStatus.FAILED,
        ).execute()


def _message(d: NotificationDelivery) -> Message:
    return Message(
        delivery_id=d.id,
        event=d.event,
        severity=d.severity.value,
        title=d.title,
        body=d.body,
        created=d.created,
        data=d.data,
    )


def _send(d: NotificationDelivery, senders: Mapping[str, Sender]) -> tuple[str | None, bool]:
    """(error or None, retryable) of one send."""
    secrets: Mapping[str, Any] = {}
    try:
        channel = d.channel
        if channel is None:
            raise DeliveryFailed("the channel was deleted", retryable=False)
        settings = channel_settings(channel)
        secrets = {k: v for k, v in settings.items() if k not in channel.config}
        senders[channel.type.value](settings, _message(d))
    except DeliveryFailed as exc:
        return scrub(exc.message, secrets), exc.retryable
    except SecretsUnreadable as exc:
        return f"{exc} (was DC_JWT_SECRET changed? set the secret again)", False
    except Exception as exc:  # a sender bug must not leave the row 'sending'
        log.exception("notification sender failed on delivery %s", d.id)
        return scrub(f"{type(exc).__name__}: {exc}", secrets), True
    return None, True


def attempt(
    delivery_id: int, *, final: bool, senders: Mapping[str, Sender] | None = None
) -> Attempt:
    """Send delivery ``delivery_id`` once and record the attempt.

    ``final`` says no retry will follow, so a retryable failure is recorded as failed.
    """
    if senders is None:
        from control.notifications.senders import SENDERS

        senders = SENDERS
    with connected():
        delivery = _claim(delivery_id)
        if delivery is None:
            return Attempt("skipped")
        started = time.perf_counter()
        error, retryable = _send(delivery, senders)
        latency = round((time.perf_counter() - started) * 1000)
        now = utcnow()
        delivery.attempts += 1
        delivery.latency_ms = latency
        delivery.updated = now
        if error is None:
            delivery.status, delivery.sent_at, outcome = DeliveryStatus.SENT, now, "sent"
        else:
            delivery.last_error = error
            done = final or not retryable
            delivery.status = DeliveryStatus.FAILED if done else DeliveryStatus.QUEUED
            outcome = ("failed" if retryable else "abandoned") if done else "retry"
        with write_transaction():
            delivery.save()
    if outcome != "retry":
        publish(
            EventType.NOTIFICATION_SENT,
            {
                "channel": delivery.channel_name,
                "rule": delivery.event,
                "status": delivery.status.value,
                "delivery_id": delivery.id,
                "attempts": delivery.attempts,
            },
        )
    return Attempt(outcome, error)
