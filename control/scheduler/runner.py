"""The scheduler process: APScheduler fires each job; the guard picks one replica per tick.

Each job is an ``IntervalTrigger`` job with ``coalesce=True`` (runs missed while the
process was paused collapse into one), ``misfire_grace_time`` (a run later than that is
skipped, not run late) and ``max_instances=1``. When it fires, the job computes its tick
as ``floor(now / interval)``, the same on every replica whatever its start time, and
only the replica that wins ``lock.acquire(job, tick)`` sends the message. Replicas
whose clocks agree to within an interval therefore send each tick once.

Messages are sent by actor name through a task queue (``control/tasks``), so this
process never imports the actors (``workers``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.interval import IntervalTrigger

from control.errors import Unavailable
from control.scheduler.jobs import PeriodicJob
from control.scheduler.lock import TickLock
from control.tasks.interface import ActorRef, TaskQueue

log = logging.getLogger(__name__)

MAX_MISFIRE_GRACE_SECONDS = 60


def misfire_grace(job: PeriodicJob) -> int:
    """How late a run may start: half an interval, at most a minute."""
    return max(1, min(MAX_MISFIRE_GRACE_SECONDS, job.interval // 2))


class SchedulerRunner:
    """Fires ``jobs`` on a scheduler; sends a job's message when this replica wins its tick."""

    def __init__(
        self,
        jobs: Sequence[PeriodicJob],
        lock: TickLock,
        tasks: TaskQueue,
        *,
        clock: Callable[[], float] = time.time,
        scheduler: BaseScheduler | None = None,
    ) -> None:
        self.jobs = list(jobs)
        self._lock = lock
        self._tasks = tasks
        self._clock = clock
        self._scheduler = scheduler or BackgroundScheduler(timezone="UTC")
        self.sent = 0

    def fire(self, job: PeriodicJob, now: float | None = None) -> bool:
        """Send ``job``'s message if this replica wins the current tick; whether it did."""
        tick = job.tick(self._clock() if now is None else now)
        try:
            # the key outlives the tick by an interval: a late replica still sees it
            won = self._lock.acquire(job.name, tick, ttl_seconds=2 * job.interval)
        except Unavailable:
            log.warning("scheduler: %s tick %s skipped: the lock is unavailable", job.name, tick)
            return False
        if not won:
            log.debug("scheduler: %s tick %s fired by another replica", job.name, tick)
            return False
        try:
            # the tick is for the logs; actors ignore it
            self._tasks.send(ActorRef(job.actor, job.queue), options={"scheduler_tick": tick})
        except Exception:
            # the tick is won but lost; every job is idempotent and the next tick is near
            log.exception("scheduler: could not send %s (tick %s)", job.actor, tick)
            return False
        self.sent += 1
        log.info("scheduler: sent %s (tick %s)", job.actor, tick)
        return True

    def _fire_now(self, job: PeriodicJob) -> None:
        self.fire(job)

    def schedule(self) -> BaseScheduler:
        """Add every job to the scheduler (not started); the scheduler."""
        for job in self.jobs:
            self._scheduler.add_job(
                self._fire_now,
                IntervalTrigger(seconds=job.interval, timezone="UTC"),
                args=(job,),
                id=job.name,
                name=f"{job.name} -> {job.actor}",
                coalesce=True,
                misfire_grace_time=misfire_grace(job),
                max_instances=1,
                replace_existing=True,
            )
        return self._scheduler

    def start(self) -> None:
        """Schedule the jobs and start firing them (in the background scheduler's thread)."""
        # APScheduler logs every run at INFO; the runner logs each message it sends
        logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)
        self.schedule()
        self._scheduler.start()

    def stop(self, wait: bool = True) -> None:
        """Stop firing; with ``wait``, let a firing in progress finish."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=wait)
