"""The API while RabbitMQ takes no message (a memory or disk alarm blocks publishers).

The API publishes to the real RabbitMQ through a TCP proxy that the test stalls: the
connection stays open and no byte passes, as with a blocked publisher. Reads keep
answering (sends have their own executor), a bulk POST answers 503 with Retry-After
within its deadline (the job saved, queued), and once the broker takes messages again
the work completes. The worker consumes on a direct connection, as consumers still do
under an alarm.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import dramatiq
import pytest

from control.bulk import services as bulk
from control.settings import load_settings
from tests.conftest import RABBITMQ_URL
from tests.factories import make_app
from tests.task_queues import OnTestQueue, declare_bulk_actor
from tests.tcp_proxy import TcpProxy
from tests.waiting import wait_until
from web import concurrency
from workers.broker import build_broker

pytestmark = pytest.mark.services

SEND_TIMEOUT = 2.0


@pytest.fixture
def stalling(monkeypatch, tasks) -> Iterator[tuple[TcpProxy, Any, dramatiq.Worker]]:
    """The API's bulk sends go through a proxy to RabbitMQ; a worker reads directly."""
    queue = f"dc_test_stall_{uuid.uuid4().hex[:10]}"
    with TcpProxy("127.0.0.1", 5672) as proxy:
        url = f"amqp://guest:guest@127.0.0.1:{proxy.port}/%2F"
        publisher = build_broker(load_settings(broker="rabbitmq", rabbitmq_url=url))
        consumer = build_broker(load_settings(broker="rabbitmq", rabbitmq_url=RABBITMQ_URL))
        sender = OnTestQueue(publisher, queue)
        declare_bulk_actor(consumer, queue)
        monkeypatch.setattr(tasks, "send", sender.send)  # the API's sends
        # one sender thread, so the connection the test warms up is the one it stalls
        monkeypatch.setattr(concurrency, "_senders", ThreadPoolExecutor(1))
        monkeypatch.setattr(concurrency, "SEND_TIMEOUT_SECONDS", SEND_TIMEOUT)
        worker = dramatiq.Worker(consumer, worker_timeout=100, worker_threads=1)
        worker.start()
        try:
            yield proxy, sender, worker
        finally:
            proxy.unstall()
            worker.stop()
            for name in (queue, f"{queue}.DQ", f"{queue}.XQ"):
                consumer.channel.queue_delete(name)
            consumer.close()
            publisher.close()


def post(client: Any, group: str, key: str) -> Any:
    return client.simulate_post(
        "/api/v1/bulk/start", json={"filter": {"group": group}}, headers={"Idempotency-Key": key}
    )


def test_a_blocked_broker_answers_503_in_time_reads_go_on_and_the_work_completes(
    client, db, stalling
):
    proxy, _, _ = stalling
    for n in range(5):
        make_app(id=f"stall_a_{n}", group="before")
        make_app(id=f"stall_b_{n}", group="during")
    warm = post(client, "before", "stall-warm")  # opens the sender's connection
    assert warm.status_code == 202, warm.text
    assert wait_until(lambda: bulk.get_job(warm.json["data"]["id"])["status"] == "completed", 20)

    proxy.stall()
    started = time.monotonic()
    blocked = post(client, "during", "stall-1")
    took = time.monotonic() - started
    assert blocked.status_code == 503, blocked.text
    assert took < SEND_TIMEOUT + 2
    assert blocked.headers["retry-after"] == "30"
    assert blocked.json["error"]["code"] == "SERVICE_UNAVAILABLE"
    job_url = blocked.headers["location"]
    job_id = job_url.rsplit("/", 1)[1]

    # reads answer at once while the send is stuck
    for path in ("/api/v1/apps", job_url, "/api/v1/bulk/jobs"):
        started = time.monotonic()
        assert client.simulate_get(path).status_code == 200
        assert time.monotonic() - started < 1.0
    assert client.simulate_get(job_url).json["data"]["status"] == "queued"

    proxy.unstall()  # the alarm clears: the held send goes through
    assert wait_until(lambda: bulk.get_job(job_id)["status"] == "completed", 30)
    assert bulk.get_job(job_id)["applied"] == 5
