"""``dcctl scheduler``: send the periodic maintenance messages until stopped.

The process only sends: jobs are named by actor (``control/scheduler``), so the actors
(``workers``) are never imported here. The broker is built from settings by
``workers.broker``, imported lazily inside the command (it declares no actor). Several
replicas may run: each tick is sent by the one that wins its lock (Redis with
``DC_REDIS_URL``, else the ``scheduler_tick`` table).
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

import click

from control.cli.context import bind_database, settings
from control.db import migrate

log = logging.getLogger(__name__)


@click.command()
def scheduler() -> None:
    """Send the periodic jobs (metrics, retention, stale runtimes, tokens, notification
    requeue) to the workers on their DC_SCHEDULE_* intervals; stops on SIGTERM."""
    from control.scheduler.jobs import periodic_jobs
    from control.scheduler.lock import build_lock
    from control.scheduler.runner import SchedulerRunner

    conf = settings()
    if conf.broker == "memory":
        raise click.ClickException(
            "DC_BROKER is memory: no worker outside this process would receive the "
            "messages; set DC_RABBITMQ_URL (or DC_BROKER=redis)"
        )
    db = bind_database()
    waiting = migrate.pending(db)
    db.close()
    if waiting:
        raise click.ClickException(
            f"{len(waiting)} migration(s) pending ({', '.join(waiting)}); run 'dcctl db upgrade'"
        )
    logging.getLogger("pika").setLevel(logging.WARNING)
    # APScheduler logs every run at INFO; the runner logs each message it sends
    logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)
    from workers.broker import broker  # the broker only: no actor is declared by it

    jobs = periodic_jobs(conf)
    runner = SchedulerRunner(jobs, build_lock(conf.redis_url), broker)
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        log.info("scheduler stopping (signal %s)", signum)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    runner.start()
    log.info(
        "scheduler started: %s",
        ", ".join(f"{job.actor} every {job.interval}s" for job in jobs),
    )
    try:
        while not stop.wait(1.0):
            pass
    finally:
        runner.stop()
        broker.close()
