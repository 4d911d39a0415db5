"""A notification is sent once, however many copies of its message run at once.

Two copies of one send message (a redelivery, a sweep's re-send racing the original)
processed at the same moment by two worker threads on the real RabbitMQ: the claim is
one compare-and-set, so one copy sends and the other does nothing. A receiver that
still sees a duplicate (a worker that died after sending) dedupes on the delivery id:
the webhook's ``X-DC-Delivery`` header, the e-mail's ``Message-ID``.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Iterator
from typing import Any

import dramatiq
import pytest

from control.clock import utcnow
from control.notifications import deliveries, routing
from control.notifications.interfaces import Message
from control.notifications.models import DeliveryStatus, NotificationDelivery
from control.notifications.senders import email as email_sender
from control.settings import get_settings, load_settings
from tests.conftest import RABBITMQ_URL
from tests.integration.test_notifications import WEBHOOK_SECRET, Receiver, channel, fatal
from tests.waiting import wait_until
from workers.broker import build_broker
from workers.notifications import deliver, send_options

pytestmark = pytest.mark.services


class SlowReceiver(Receiver):
    """Takes a while to answer, as a real endpoint may: the window for a second copy."""

    def reply(self, status: int) -> bytes:
        time.sleep(0.5)
        return super().reply(status)


@pytest.fixture
def rabbit_actor(db) -> Iterator[tuple[dramatiq.Actor, dramatiq.Worker]]:
    """The send actor on a queue of the test's own on RabbitMQ, and a 2-thread worker."""
    rabbit = build_broker(load_settings(rabbitmq_url=RABBITMQ_URL, broker="rabbitmq"))
    queue = f"dc_test_claims_{uuid.uuid4().hex[:10]}"
    options = {**send_options(get_settings()), "queue_name": queue}
    actor = dramatiq.actor(deliver, actor_name="send_notification", broker=rabbit, **options)
    worker = dramatiq.Worker(rabbit, worker_timeout=50, worker_threads=2)
    yield actor, worker
    worker.stop()
    for name in (queue, f"{queue}.DQ", f"{queue}.XQ"):
        rabbit.channel.queue_delete(name)
    rabbit.close()


def status(delivery_id: int) -> DeliveryStatus:
    return NotificationDelivery.get_by_id(delivery_id).status


def test_two_copies_of_one_send_processed_at_once_send_once(rabbit_actor):
    actor, worker = rabbit_actor
    with SlowReceiver([200]) as receiver:
        channel("webhook", {"url": receiver.url, "secret": WEBHOOK_SECRET})
        [delivery_id] = routing.notify(fatal(), lambda _id: None)  # copies sent below
        actor.send(delivery_id)
        actor.send(delivery_id)  # the duplicate, waiting in the queue beside it
        worker.start()
        assert wait_until(lambda: status(delivery_id) is DeliveryStatus.SENT, 20)
        worker.join()
        time.sleep(0.7)  # a second send, if any, would have reached the receiver by now
    assert len(receiver.requests) == 1
    assert receiver.requests[0]["headers"]["X-DC-Delivery"] == str(delivery_id)
    assert NotificationDelivery.get_by_id(delivery_id).attempts == 1


def test_a_sending_row_is_taken_over_only_after_its_lease(db):
    with Receiver([200]) as receiver:
        channel("webhook", {"url": receiver.url, "secret": WEBHOOK_SECRET})
        [delivery_id] = routing.notify(fatal(), lambda _id: None)
        # another attempt holds it (claimed just now): this one leaves it
        NotificationDelivery.update(status=DeliveryStatus.SENDING, updated=utcnow()).execute()
        assert deliveries.attempt(delivery_id, final=False).outcome == "skipped"
        assert receiver.requests == []
        # that attempt's worker died: once the lease ran out, the row is taken over
        expired = utcnow() - deliveries.SENDING_LEASE - dt.timedelta(seconds=1)
        NotificationDelivery.update(updated=expired).execute()
        assert deliveries.attempt(delivery_id, final=False).outcome == "sent"
    assert len(receiver.requests) == 1


def _mail(delivery_id: int) -> Any:
    config = {"from": "dc@example.com", "to": ["ops@example.com"]}
    message = Message(
        delivery_id=delivery_id,
        event="app.fatal",
        severity="critical",
        title="scraper is fatal",
        body="",
        created=utcnow(),
    )
    return email_sender.build(config, message)


def test_every_attempt_of_one_email_delivery_has_the_same_message_id():
    assert _mail(42)["Message-ID"] == _mail(42)["Message-ID"] == "<dc-delivery-42@example.com>"
    assert _mail(43)["Message-ID"] != _mail(42)["Message-ID"]
