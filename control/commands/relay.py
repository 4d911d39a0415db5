"""The outbox relay: publishes unsent outbox rows, oldest first, and marks them sent.

Each pass claims up to ``batch`` rows in one transaction (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so several relays can run; SQLite serialises writers), publishes them as one
batch (``publish_many``: on RabbitMQ all of them go out, then the broker's confirms are
awaited together), and marks the confirmed rows (and their commands) published in that
same transaction, with one UPDATE per table. A row is marked only once confirmed, and
only the confirmed prefix of the batch: the first row not confirmed (nacked, timed out,
connection lost) gets a backoff and the rows behind it wait, so one relay publishes in
order; any of them the broker did take is published again on a later pass.

Delivery is at least once: a crash between the broker's confirm and the commit publishes
the row again on the next pass. Consumers dedupe on ``message_id`` (the command id).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading

from peewee import ModelSelect

from control.clock import utcnow
from control.commands.models import Command, CommandStatus, Outbox
from control.commands.services import outbox_written
from control.commands.transport import CommandTransport, Outgoing
from control.db.database import connected, dialect, write_transaction
from control.errors import Unavailable

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 30
LINGER_SECONDS = 0.05  # after a pass that found rows: at most this added to a stream


def backoff(attempts: int) -> dt.timedelta:
    """How long a row waits after its ``attempts``-th failure: 1, 2, 4 … 30 s."""
    return dt.timedelta(seconds=min(MAX_BACKOFF_SECONDS, 2 ** max(0, attempts - 1)))


def _claim(batch: int) -> ModelSelect[Outbox]:
    query = (
        Outbox.select()
        .where(Outbox.published_at.is_null())
        .order_by(Outbox.id)  # served by the partial index outbox_unpublished
        .limit(batch)
    )
    if dialect() == "postgresql":
        query = query.for_update(skip_locked=True)
    return query


def relay_once(transport: CommandTransport, batch: int = 100) -> int:
    """Publish up to ``batch`` unsent rows in order; the number published."""
    with connected(), write_transaction():
        now = utcnow()
        rows: list[Outbox] = []
        for row in _claim(batch):
            if row.available_at > now:
                break  # the oldest row is backing off; the rest keep their place behind it
            rows.append(row)
        if not rows:
            return 0
        outcome = transport.publish_many(
            [
                Outgoing(r.routing_key, r.payload.encode(), r.message_id, r.headers or None)
                for r in rows
            ]
        )
        published = rows[: outcome.count]
        if outcome.error is not None and outcome.count < len(rows):
            _back_off(rows[outcome.count], outcome.error)
        if published:
            _mark_published(published)
    return len(published)


def _back_off(row: Outbox, error: Unavailable) -> None:
    """The first unconfirmed row waits before its next attempt; the rows behind it wait
    behind it."""
    attempts = row.attempts + 1
    Outbox.update(
        attempts=attempts,
        last_error=str(error)[:2000],
        available_at=utcnow() + backoff(attempts),
    ).where(Outbox.id == row.id).execute()
    log.warning("outbox row %s not published (attempt %s): %s", row.id, attempts, error)


def _mark_published(rows: list[Outbox]) -> None:
    """Mark confirmed rows, and their commands, published: two statements a batch."""
    stamp = utcnow()
    Outbox.update(published_at=stamp).where(Outbox.id.in_([r.id for r in rows])).execute()
    commands = [r.message_id for r in rows if r.kind == "command"]
    if commands:
        Command.update(status=CommandStatus.PUBLISHED, published_at=stamp).where(
            Command.id.in_(commands), Command.status == CommandStatus.PENDING
        ).execute()


def run_relay(
    transport: CommandTransport,
    stop_event: threading.Event,
    idle_sleep: float = 1.0,
    *,
    batch: int = 100,
    linger: float = LINGER_SECONDS,
) -> None:
    """Relay until ``stop_event`` is set; idle, it sleeps ``idle_sleep`` or until woken
    (a command issued in this process, or a NOTIFY heard by ``wakeup.OutboxListener``).
    After a pass that found rows, it lingers ``linger`` seconds so that commands written
    in a stream (a bulk job) go out in batches rather than one transaction each; a lone
    command is published at once. Database errors are logged and retried with backoff."""
    failures = 0
    while not stop_event.is_set():
        try:
            sent = relay_once(transport, batch)
        except Exception:
            failures += 1
            log.exception("outbox relay pass failed (%s in a row)", failures)
            stop_event.wait(backoff(failures).total_seconds())
            continue
        failures = 0
        if sent >= batch:
            continue  # more may be waiting
        if sent > 0:
            stop_event.wait(linger)  # a stream: let the next batch gather
        if outbox_written.wait(idle_sleep):
            outbox_written.clear()
