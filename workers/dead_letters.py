"""Messages that failed for good, kept in the ``dead_job`` table (sent again by
``control.jobs.requeue``).

RabbitMQ keeps its own ``.XQ`` queue and Redis its dead-letter set, for a week; the
table is the same view for every broker, the in-process one included, and the one
``GET /api/v1/jobs/dead`` lists.
"""

from __future__ import annotations

import logging
from typing import Any

import dramatiq
from dramatiq.common import q_name
from dramatiq.middleware import Middleware

from control.jobs import services as jobs

log = logging.getLogger(__name__)


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
