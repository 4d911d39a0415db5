"""Every actor the domain sends to, by name and queue (the workers declare them)."""

from __future__ import annotations

from control.scheduler.jobs import BULK_QUEUE, MAINTENANCE_QUEUE, NOTIFICATIONS_QUEUE
from control.tasks.interface import ActorRef

APPLY_BULK_JOB = ActorRef("apply_bulk_job", BULK_QUEUE)
REQUEUE_STALE_BULK_JOBS = ActorRef("requeue_stale_bulk_jobs", BULK_QUEUE)
SEND_NOTIFICATION = ActorRef("send_notification", NOTIFICATIONS_QUEUE)
REQUEUE_STALE_NOTIFICATIONS = ActorRef("requeue_stale_notifications", NOTIFICATIONS_QUEUE)
SAMPLE_METRICS = ActorRef("sample_metrics", MAINTENANCE_QUEUE)
CLEANUP_TOKENS = ActorRef("cleanup_tokens", MAINTENANCE_QUEUE)
APPLY_RETENTION = ActorRef("apply_retention", MAINTENANCE_QUEUE)
ENSURE_PARTITIONS = ActorRef("ensure_partitions", MAINTENANCE_QUEUE)
DETECT_STALE_RUNTIMES = ActorRef("detect_stale_runtimes", MAINTENANCE_QUEUE)
EVALUATE_HEALTH = ActorRef("evaluate_health", MAINTENANCE_QUEUE)
ROLL_UP_FUNCTIONS = ActorRef("roll_up_functions", MAINTENANCE_QUEUE)
ROLL_UP_FUNCTION_PAIRS = ActorRef("roll_up_function_pairs", MAINTENANCE_QUEUE)
ROLL_UP_PIPELINES = ActorRef("roll_up_pipelines", MAINTENANCE_QUEUE)
ROLL_UP_AUDIT = ActorRef("roll_up_audit", MAINTENANCE_QUEUE)
ROLL_UP_RUNTIMES = ActorRef("roll_up_runtimes", MAINTENANCE_QUEUE)

ALL: dict[str, ActorRef] = {
    actor.name: actor
    for actor in (
        APPLY_BULK_JOB,
        REQUEUE_STALE_BULK_JOBS,
        SEND_NOTIFICATION,
        REQUEUE_STALE_NOTIFICATIONS,
        SAMPLE_METRICS,
        CLEANUP_TOKENS,
        APPLY_RETENTION,
        ENSURE_PARTITIONS,
        DETECT_STALE_RUNTIMES,
        EVALUATE_HEALTH,
        ROLL_UP_FUNCTIONS,
        ROLL_UP_FUNCTION_PAIRS,
        ROLL_UP_PIPELINES,
        ROLL_UP_AUDIT,
        ROLL_UP_RUNTIMES,
    )
}
