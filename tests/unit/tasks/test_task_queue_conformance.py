"""One contract, every task queue: what a sender sends is what the named actor gets.

Run over the in-process queue (``control/tasks/memory.py``) and the Dramatiq one
(``control/tasks/dramatiq.py``) on Dramatiq's in-process broker and on the real
RabbitMQ. Each harness declares the test's handlers under actor names on queues of the
test's own, sends through the queue under test, and runs what was sent.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import dramatiq
import pytest
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import CurrentMessage

from control.tasks.dramatiq import DramatiqTaskQueue
from control.tasks.interface import ActorRef, TaskQueue
from control.tasks.memory import InProcessTaskQueue
from tests.conftest import RABBITMQ_URL


class Harness(Protocol):
    tasks: TaskQueue

    def handle(self, actor: ActorRef, fn: Callable[..., None]) -> None: ...

    def run_sent(self) -> None: ...

    def current(self) -> tuple[str, dict[str, Any], str]:
        """The running message's queue, options and id (inside a handler)."""
        ...


class InProcessHarness:
    def __init__(self) -> None:
        self.tasks = InProcessTaskQueue()

    def handle(self, actor: ActorRef, fn: Callable[..., None]) -> None:
        self.tasks.handlers[actor.name] = fn

    def run_sent(self) -> None:
        self.tasks.run_pending()

    def current(self) -> tuple[str, dict[str, Any], str]:
        task = self.tasks.current
        assert task is not None
        return task.actor.queue, task.options, task.message_id


class DramatiqHarness:
    def __init__(self, broker: dramatiq.Broker) -> None:
        broker.add_middleware(CurrentMessage())
        self.broker = broker
        self.tasks = DramatiqTaskQueue(broker)
        self.queues: set[str] = set()
        self.worker: dramatiq.Worker | None = None

    def handle(self, actor: ActorRef, fn: Callable[..., None]) -> None:
        dramatiq.actor(
            fn, actor_name=actor.name, queue_name=actor.queue, broker=self.broker, max_retries=0
        )
        self.queues.add(actor.queue)

    def run_sent(self) -> None:
        if self.worker is None:
            self.worker = dramatiq.Worker(self.broker, worker_timeout=50, worker_threads=1)
            self.worker.start()
        for queue in sorted(self.queues):
            self.broker.join(queue, timeout=20_000)
        self.worker.join()

    def current(self) -> tuple[str, dict[str, Any], str]:
        message = CurrentMessage.get_current_message()
        assert message is not None
        return message.queue_name, dict(message.options), message.message_id

    def close(self) -> None:
        if self.worker is not None:
            self.worker.stop()
        if isinstance(self.broker, RabbitmqBroker):
            for queue in self.queues:
                for name in (queue, f"{queue}.DQ", f"{queue}.XQ"):
                    self.broker.channel.queue_delete(name)
        self.broker.close()


@pytest.fixture(
    params=[
        "in-process",
        "dramatiq-stub",
        pytest.param("dramatiq-rabbitmq", marks=pytest.mark.services),
    ]
)
def harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    if request.param == "in-process":
        yield InProcessHarness()
        return
    broker = StubBroker() if request.param == "dramatiq-stub" else RabbitmqBroker(url=RABBITMQ_URL)
    dramatiq_harness = DramatiqHarness(broker)
    try:
        yield dramatiq_harness
    finally:
        dramatiq_harness.close()


def actor(name: str) -> ActorRef:
    """An actor on a queue of the test's own: nothing else consumes it."""
    return ActorRef(name, f"dc_test_tasks_{uuid.uuid4().hex[:10]}")


class Received:
    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self._lock = threading.Lock()

    def recorder(self, name: str) -> Callable[..., None]:
        def record(*args: Any, **kwargs: Any) -> None:
            with self._lock:
                self.calls.append((name, args, kwargs))

        return record


def test_the_named_actor_gets_the_arguments_once(harness: Harness) -> None:
    received = Received()
    first, other = actor("conformance_first"), actor("conformance_other")
    harness.handle(first, received.recorder("first"))
    harness.handle(other, received.recorder("other"))

    harness.tasks.send(first, 7, "seven", kwargs={"tags": ["a", "b"], "n": None})
    harness.run_sent()

    assert received.calls == [("first", (7, "seven"), {"tags": ["a", "b"], "n": None})]


def test_actors_on_two_queues_each_get_their_own(harness: Harness) -> None:
    received = Received()
    first, other = actor("conformance_first"), actor("conformance_other")
    harness.handle(first, received.recorder("first"))
    harness.handle(other, received.recorder("other"))

    harness.tasks.send(first, 1)
    harness.tasks.send(other, 2)
    harness.tasks.send(first, 3)
    harness.run_sent()

    assert sorted(received.calls) == [("first", (1,), {}), ("first", (3,), {}), ("other", (2,), {})]


def test_options_the_queue_and_a_kept_message_id_travel_with_the_message(
    harness: Harness,
) -> None:
    seen: list[tuple[str, dict[str, Any], str]] = []
    ticked = actor("conformance_ticked")
    harness.handle(ticked, lambda: seen.append(harness.current()))

    harness.tasks.send(ticked, options={"scheduler_tick": 42}, message_id="kept-message-id")
    harness.tasks.send(ticked)
    harness.tasks.send(ticked)
    harness.run_sent()

    assert len(seen) == 3
    kept = [s for s in seen if s[2] == "kept-message-id"]
    assert len(kept) == 1
    queue, options, _ = kept[0]
    assert queue == ticked.queue
    assert options["scheduler_tick"] == 42
    fresh_ids = {s[2] for s in seen} - {"kept-message-id"}
    assert len(fresh_ids) == 2  # each send without an id gets its own


def test_a_send_returns_before_the_actor_runs(harness: Harness) -> None:
    received = Received()
    later = actor("conformance_later")
    harness.handle(later, received.recorder("later"))
    harness.tasks.send(later, 1)
    assert received.calls == []  # queued, not run in the sender's call
    harness.run_sent()
    assert received.calls == [("later", (1,), {})]
