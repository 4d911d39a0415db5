"""Sending a dead job's message again: once, with a fresh retry count, under its id.

What must happen before an actor's dead message is sent again is the domain's policy,
by actor name: a failed bulk job goes back to queued (or its worker would return at
once), a failed delivery is queued again (or no attempt claims it).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from control.bulk import recovery
from control.errors import NotFound, Unavailable
from control.jobs import services as jobs
from control.notifications import deliveries
from control.tasks import actors
from control.tasks.interface import ActorRef, TaskQueue

log = logging.getLogger(__name__)

# Options a failed run left behind; a re-queued message starts afresh without them.
RUN_STATE = frozenset({"retries", "traceback", "eta", "requeue_timestamp", "redis_message_id"})

Resume = Callable[[list[Any], dict[str, Any]], Any]
RESUMES: dict[str, Resume] = {
    actors.APPLY_BULK_JOB.name: lambda args, kwargs: recovery.resume(str(args[0])),
    actors.SEND_NOTIFICATION.name: lambda args, kwargs: deliveries.requeue_failed(int(args[0])),
}


def _queue(name: str) -> str:
    """The canonical queue of a message found on a delay (``.DQ``) or dead (``.XQ``) one."""
    return name[:-3] if name.endswith((".DQ", ".XQ")) else name


def requeue(job_id: int, tasks: TaskQueue) -> dict[str, Any]:
    """Send a dead job's original message again through ``tasks``, once; the job,
    stamped. NotFound when its actor is not one of this deployment's (or what it works
    on is gone), Unavailable when the queue refuses it (the job can be requeued again)."""
    job = jobs.claim_requeue(job_id)
    try:
        original: dict[str, Any] = json.loads(job.message)
        if original["actor_name"] not in actors.ALL:
            raise NotFound(f"No actor {job.actor!r} in this deployment.")
        args, kwargs = list(original.get("args", ())), dict(original.get("kwargs", {}))
        if (resume := RESUMES.get(original["actor_name"])) is not None:
            resume(args, kwargs)
        options = original.get("options", {})
        tasks.send(
            ActorRef(original["actor_name"], _queue(original["queue_name"])),
            *args,
            kwargs=kwargs,
            options={k: v for k, v in options.items() if k not in RUN_STATE},
            message_id=original["message_id"],
        )
    except NotFound:  # no such actor, or what the message works on is gone
        jobs.release_requeue(job_id)
        raise
    except Exception as exc:
        jobs.release_requeue(job_id)
        log.warning("dead job %s not re-queued: %s", job_id, type(exc).__name__)
        raise Unavailable("The broker did not take the message; try again.") from exc
    return jobs.item(job)
