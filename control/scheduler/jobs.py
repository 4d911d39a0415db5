"""The periodic jobs, declared by the domain: what to send, to which queue, how often."""

from __future__ import annotations

from dataclasses import dataclass

from control.settings import Settings

MAINTENANCE_QUEUE = "maintenance"
NOTIFICATIONS_QUEUE = "notifications"  # workers/notifications.py's queue
BULK_QUEUE = "bulk"  # workers/bulk.py's queue


@dataclass(frozen=True)
class PeriodicJob:
    """Send a message to ``actor`` on ``queue`` every ``interval`` seconds."""

    name: str
    actor: str
    queue: str
    interval: int  # seconds

    def tick(self, now: float) -> int:
        """The interval ``now`` (unix seconds) falls in: the same on every replica."""
        return int(now // self.interval)


def periodic_jobs(settings: Settings) -> list[PeriodicJob]:
    """Every periodic job, with the intervals ``settings`` give."""
    return [
        PeriodicJob(
            "metrics", "sample_metrics", MAINTENANCE_QUEUE, settings.schedule_metrics_seconds
        ),
        PeriodicJob(
            "retention", "apply_retention", MAINTENANCE_QUEUE, settings.schedule_retention_seconds
        ),
        PeriodicJob(
            "partitions",
            "ensure_partitions",
            MAINTENANCE_QUEUE,
            settings.schedule_partitions_seconds,
        ),
        PeriodicJob(
            "stale_runtimes",
            "detect_stale_runtimes",
            MAINTENANCE_QUEUE,
            settings.schedule_stale_seconds,
        ),
        PeriodicJob(
            "health", "evaluate_health", MAINTENANCE_QUEUE, settings.schedule_health_seconds
        ),
        PeriodicJob(
            "rollups", "roll_up_functions", MAINTENANCE_QUEUE, settings.schedule_rollup_seconds
        ),
        PeriodicJob(
            "rollups_function_pairs",
            "roll_up_function_pairs",
            MAINTENANCE_QUEUE,
            settings.schedule_rollup_seconds,
        ),
        PeriodicJob(
            "rollups_pipelines",
            "roll_up_pipelines",
            MAINTENANCE_QUEUE,
            settings.schedule_rollup_seconds,
        ),
        PeriodicJob(
            "rollups_audit", "roll_up_audit", MAINTENANCE_QUEUE, settings.schedule_rollup_seconds
        ),
        PeriodicJob(
            "rollups_runtimes",
            "roll_up_runtimes",
            MAINTENANCE_QUEUE,
            settings.schedule_rollup_seconds,
        ),
        PeriodicJob(
            "tokens", "cleanup_tokens", MAINTENANCE_QUEUE, settings.schedule_tokens_seconds
        ),
        PeriodicJob(
            "notifications_requeue",
            "requeue_stale_notifications",
            NOTIFICATIONS_QUEUE,
            settings.schedule_notifications_requeue_seconds,
        ),
        PeriodicJob(
            "bulk_requeue",
            "requeue_stale_bulk_jobs",
            BULK_QUEUE,
            settings.schedule_bulk_requeue_seconds,
        ),
    ]
