"""Messages that failed for good, kept in the ``dead_job`` table, and sent again.

RabbitMQ keeps its own ``.XQ`` queue and Redis its dead-letter set, for a week; the
table is the same view for every broker, the in-process one included, and the one
``GET /api/v1/jobs/dead`` lists.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import dramatiq
from dramatiq.common import q_name
from dramatiq.errors import ActorNotFound
from dramatiq.middleware import Middleware

from control.errors import NotFound, Unavailable
from control.jobs import services as jobs

log = logging.getLogger(__name__)

# Options a failed run left behind; a re-queued message starts afresh without them.
RUN_STATE = frozenset({"retries", "traceback", "eta", "requeue_timestamp", "redis_message_id"})


def _error(exception: BaseException | None) -> str | None:
    if exception is None:
        return None
    text = str(exception)
    return f"{type(exception).__name__}: {text}" if text else type(exception).__name__


class DeadLetters(Middleware):
    """Records each message that fails for good: retries exhausted, or an error its
    actor ``throws``, or skipped as too old."""

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: Any,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        if exception is not None and message.failed:
            self._record(message, exception)

    def after_skip_message(self, broker: dramatiq.Broker, message: Any) -> None:
        if message.failed:
            self._record(message, getattr(message, "_exception", None))

    def _record(self, message: Any, exception: BaseException | None) -> None:
        try:
            jobs.record(
                queue=q_name(message.queue_name),
                actor=message.actor_name,
                message_id=message.message_id,
                args=list(message.args),
                kwargs=dict(message.kwargs),
                encoded=message.encode().decode(),
                error=_error(exception),
            )
        except Exception:  # the broker's own dead-letter queue still has it
            log.exception("could not record dead message %s", message.message_id)


def requeue(job_id: int, broker: dramatiq.Broker | None = None) -> dict[str, Any]:
    """Enqueue a dead job's original message again, once; the job, stamped.

    The message starts afresh (no retry count) under its original id.
    """
    broker = broker or dramatiq.get_broker()
    job = jobs.claim_requeue(job_id)
    try:
        original = dramatiq.Message.decode(job.message.encode())
        broker.get_actor(original.actor_name)
        broker.enqueue(
            dramatiq.Message(
                queue_name=q_name(original.queue_name),
                actor_name=original.actor_name,
                args=original.args,
                kwargs=original.kwargs,
                options={k: v for k, v in original.options.items() if k not in RUN_STATE},
                message_id=original.message_id,
                message_timestamp=int(time.time() * 1000),
            )
        )
    except ActorNotFound:
        jobs.release_requeue(job_id)
        raise NotFound(f"No actor {job.actor!r} in this deployment.") from None
    except Exception as exc:
        jobs.release_requeue(job_id)
        log.warning("dead job %s not re-queued: %s", job_id, type(exc).__name__)
        raise Unavailable("The broker did not take the message; try again.") from exc
    return jobs.item(job)
