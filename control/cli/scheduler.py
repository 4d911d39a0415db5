"""``dcctl scheduler``: send the periodic maintenance messages, and route events to
notification channels, until stopped.

The process only sends: jobs are named by actor (``control/scheduler``) and sent through
a task queue on a broker ``workers.broker.build_broker`` builds from settings; no actor
is declared here. Several
replicas may run: each tick is sent by the one that wins its lock (Redis with
``DC_REDIS_URL``, else the ``scheduler_tick`` table).

With ``DC_REDIS_URL`` the process also listens on the event bus and turns events into
notification deliveries (``control/notifications/router.py``); replicas claim each
event with the same lock, so an event is routed once.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import click

from control.cli.context import bind_migrated_database, settings, stop_on_signals

if TYPE_CHECKING:
    from control.events.interface import EventBus
    from control.notifications.router import NotificationRouter

log = logging.getLogger(__name__)


@click.command()
def scheduler() -> None:
    """Send the periodic jobs (metrics, retention, stale runtimes, tokens, notification
    and bulk-job requeues) to the workers on their DC_SCHEDULE_* intervals, and route
    bus events to notification channels; stops on SIGTERM."""
    from control.scheduler.jobs import periodic_jobs
    from control.scheduler.lock import build_lock
    from control.scheduler.runner import SchedulerRunner

    conf = settings()
    if conf.broker == "memory":
        raise click.ClickException(
            "DC_BROKER is memory: no worker outside this process would receive the "
            "messages; set DC_RABBITMQ_URL (or DC_BROKER=redis)"
        )
    bind_migrated_database()
    logging.getLogger("pika").setLevel(logging.WARNING)
    from control.tasks.dramatiq import DramatiqTaskQueue
    from workers.broker import build_broker

    broker = build_broker(conf)
    tasks = DramatiqTaskQueue(broker)
    jobs = periodic_jobs(conf)
    lock = build_lock(conf.redis_url)
    runner = SchedulerRunner(jobs, lock, tasks)
    bus: EventBus | None = None
    router: NotificationRouter | None = None
    if conf.redis_url:
        from control.events.factory import build_bus
        from control.scheduler.notify import build_router

        bus = build_bus(conf.redis_url, channel=conf.events_channel)
        router = build_router(bus, lock, tasks, conf.notification_pipeline_error_rate)
    else:
        log.warning(
            "no DC_REDIS_URL: events of other processes cannot reach this one, so none "
            "is routed to notification channels (channel tests and the API still send)"
        )
    stop = stop_on_signals("scheduler")
    runner.start()
    if router is not None:
        router.start()
    log.info(
        "scheduler started: %s%s",
        ", ".join(f"{job.actor} every {job.interval}s" for job in jobs),
        "; routing events to notification channels" if router is not None else "",
    )
    try:
        while not stop.wait(1.0):
            pass
    finally:
        if router is not None and bus is not None:
            router.stop()
            bus.close()
        runner.stop()
        broker.close()
