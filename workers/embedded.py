"""The embedded default: a real Dramatiq ``Worker`` inside the web process.

With the in-process broker no other process can take the web process's messages, so
the web process runs the worker itself for its lifetime (a Falcon lifespan middleware),
and with it what ``dcctl scheduler`` runs in production: the periodic jobs (metrics
samples, retention, stale runtimes, token cleanup, requeue sweeps) and the
notification router that turns bus events into deliveries.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import dramatiq

from control.events.interface import EventBus
from control.notifications.router import NotificationRouter
from control.scheduler.jobs import periodic_jobs
from control.scheduler.lock import build_lock
from control.scheduler.runner import SchedulerRunner
from control.settings import Settings
from control.tasks.dramatiq import DramatiqTaskQueue
from workers.broker import is_in_process

log = logging.getLogger(__name__)

WORKER_THREADS = 2
STOP_TIMEOUT_MS = 25_000


class EmbeddedWorker:
    """Lifespan only: starts the worker, the periodic jobs and the router at startup,
    stops them at shutdown."""

    def __init__(
        self,
        settings: Settings,
        broker: dramatiq.Broker,
        bus: EventBus | None = None,
        worker_timeout: int = 1000,
    ) -> None:
        self._settings = settings
        self._bus = bus
        self._broker = broker
        self._tasks = DramatiqTaskQueue(broker)
        self._worker_timeout = worker_timeout
        self.worker: dramatiq.Worker | None = None
        self.router: NotificationRouter | None = None
        self.scheduler: SchedulerRunner | None = None

    async def process_startup(self, scope: dict[str, Any], event: dict[str, Any]) -> None:
        if self.worker is not None:
            return
        self.worker = dramatiq.Worker(
            self._broker, worker_threads=WORKER_THREADS, worker_timeout=self._worker_timeout
        )
        self.worker.start()
        self.scheduler = SchedulerRunner(
            periodic_jobs(self._settings), build_lock(self._settings.redis_url), self._tasks
        )
        self.scheduler.start()
        if self._bus is not None:
            self.router = NotificationRouter(
                self._bus, self._tasks, self._settings.notification_pipeline_error_rate
            )
            self.router.start()
        log.debug("embedded dramatiq worker started")

    async def process_shutdown(self, scope: dict[str, Any], event: dict[str, Any]) -> None:
        router, self.router = self.router, None
        if router is not None:
            await asyncio.to_thread(router.stop)
        scheduler, self.scheduler = self.scheduler, None
        if scheduler is not None:
            await asyncio.to_thread(scheduler.stop)
        worker, self.worker = self.worker, None
        if worker is not None:
            await asyncio.to_thread(worker.stop, STOP_TIMEOUT_MS)
            log.debug("embedded dramatiq worker stopped")


def embedded_middleware(
    settings: Settings, broker: dramatiq.Broker, bus: EventBus | None = None
) -> list[EmbeddedWorker]:
    """``[EmbeddedWorker]`` on ``broker`` (the one ``workers.broker.setup(settings)``
    built) when it is the in-process one, else nothing."""
    return [EmbeddedWorker(settings, broker, bus)] if is_in_process(broker) else []
