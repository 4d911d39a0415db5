"""The bulk endpoints on the real RabbitMQ and Redis brokers: a retried POST with the same
``Idempotency-Key`` is the same job, and the job it names runs once per app.

The API's task queue sends to the bulk actor declared on a queue of its own
on a broker built for the test (``real_broker``), with a real ``dramatiq.Worker``.
"""

from __future__ import annotations

import dramatiq
import pytest
from peewee import fn

from control.bulk import services as bulk
from control.bulk.models import BulkJob
from control.commands.models import Command
from tests.factories import make_app
from tests.task_queues import OnTestQueue, declare_bulk_actor
from tests.waiting import wait_until

pytestmark = pytest.mark.services


def test_the_same_idempotency_key_is_the_same_job_on_a_real_broker(
    client,
    db,
    real_broker,
    monkeypatch,
    tasks,
):
    broker, queue = real_broker
    declare_bulk_actor(broker, queue)
    monkeypatch.setattr(tasks, "send", OnTestQueue(broker, queue).send)
    ids = [make_app(id=f"idem_{n:02d}", group="idem").id for n in range(30)]
    body = {"filter": {"group": "idem"}}
    headers = {"Idempotency-Key": "nightly-idem-1"}

    first = client.simulate_post("/api/v1/bulk/start", json=body, headers=headers)
    again = client.simulate_post("/api/v1/bulk/start", json=body, headers=headers)
    assert (first.status_code, again.status_code) == (202, 202)
    job_id = first.json["data"]["id"]
    assert again.json["data"]["id"] == job_id
    assert again.headers["location"] == first.headers["location"]

    worker = dramatiq.Worker(broker, worker_timeout=100, worker_threads=2)
    worker.start()
    try:
        assert wait_until(lambda: bulk.get_job(job_id)["status"] == "completed", 60)
        late = client.simulate_post("/api/v1/bulk/start", json=body, headers=headers)
        assert late.json["data"]["id"] == job_id  # still the same job once it is done
    finally:
        worker.stop()
    assert BulkJob.select().count() == 1
    per_app = dict(
        Command.select(Command.app, fn.COUNT(Command.id))
        .where(Command.bulk_job_id == job_id)
        .group_by(Command.app)
        .tuples()
    )
    assert per_app == dict.fromkeys(ids, 1)  # every app once, whatever was redelivered
