"""Long-running services: a restart or two over the period, running now, with periodic
throughput lines (the OCR worker also works through documents)."""

from __future__ import annotations

import datetime as dt

from control.agent.runner import duration_text
from control.demo.seed.documents import queue_tasks
from control.demo.seed.history import DEBUG, ERROR, INFO, RUNNER, WARNING, History, Run
from control.demo.seed.plan import Plan
from control.enums import PipelineStatus, RuntimeStatus

# service app -> (function logged per interval, what it handles, items per minute)
_SERVICES = {
    "service_ocr_worker": ("process_queue", "documents", 0.0),
    "service_heartbeat_collector": ("collect_heartbeats", "heartbeats", 240.0),
    "service_alert_router": ("route_alerts", "alerts", 0.4),
    "service_proxy_rotator": ("rotate_proxies", "proxied requests", 900.0),
    "service_browser_pool": ("serve_sessions", "browser sessions", 6.0),
    "service_queue_bridge": ("forward_jobs", "jobs", 25.0),
}
_WARNINGS = (
    "Reconnected to Redis after a connection reset (attempt 1)",
    "Broker channel closed by peer; reopening",
    "Slow consumer: {n} messages waiting longer than 60s",
    "Worker {w} exceeded 1.5 GiB RSS; recycling it",
)
_CRASHES = (
    "AMQPConnectionError: connection to rabbitmq:5672 lost",
    "MemoryError: worker exceeded its 2 GiB limit",
    "RedisError: Connection closed by server",
)


def service_runs(h: History, plan: Plan) -> list[Run]:
    """A long-running service: a restart or two over the period, running now."""
    rng = h.rng
    first = h.start + dt.timedelta(seconds=rng.randint(60, 7200))
    latest = h.now - dt.timedelta(hours=1)
    restarts = rng.choice((0, 1, 1, 2))
    earliest = first + dt.timedelta(hours=6)
    cuts: list[dt.datetime] = []
    if latest > earliest:
        cuts = sorted(earliest + (latest - earliest) * rng.random() for _ in range(restarts))
        cuts = [c.replace(microsecond=0) for c in cuts]
    runs: list[Run] = []
    begin = first
    for stop in cuts:
        crashed = rng.random() < 0.3
        status = RuntimeStatus.FAILED if crashed else RuntimeStatus.STOPPED
        error = rng.choice(_CRASHES) if crashed else None
        run = Run(plan.app_id, begin, stop, status, "command", plan.host, error=error)
        runs.append(_emit(h, plan, run))
        begin = stop + dt.timedelta(seconds=rng.randint(5, 40))
    heartbeat = h.now - dt.timedelta(seconds=rng.randint(1, 20))
    live = Run(plan.app_id, begin, heartbeat, RuntimeStatus.RUNNING, "command", plan.host)
    runs.append(_emit(h, plan, live))
    return runs


def _emit(h: History, plan: Plan, run: Run) -> Run:
    """Periodic throughput lines and timings of one service run."""
    rng, cut = h.rng, run.length
    function, unit, per_minute = _SERVICES.get(plan.spec.app, ("serve", "requests", 10.0))
    module = f"services.{plan.spec.app.removeprefix('service_')}"
    settings = plan.row["settings"]

    def log(offset: float, level: int, where: str, name: str, message: str) -> None:
        if 0 <= offset <= cut:
            h.log(plan, run, offset, level, where, name, message)

    h.log_start(plan, run)
    ready = f"Ready: {settings['workers']} workers consuming {settings['queue']}"
    log(0.4, INFO, module, "serve", ready)
    log(0.6, DEBUG, module, "serve", "Connected to broker amqp://rabbitmq:5672/")
    first_task = len(h.tasks)
    ended_at = queue_tasks(h, plan, run) if plan.doc_types else []
    tick, previous = rng.uniform(600, 3600), 1.0
    total = failed = 0
    while tick < cut:
        minutes = (tick - previous) / 60
        if plan.doc_types:
            handled, bad = sum(1 for t in ended_at if previous <= t < tick), 0
        else:
            handled = max(0, round(per_minute * minutes * rng.uniform(0.6, 1.4)))
            bad = round(handled * rng.uniform(0, 0.01))
        total, failed = total + handled, failed + bad
        p95 = rng.randint(40, 900)
        items = unit.removesuffix("s") if handled == 1 else unit
        summary = f"Handled {handled} {items} in the last {minutes:.0f} min (p95 {p95} ms)"
        log(tick, INFO, module, function, summary)
        if rng.random() < 0.3:
            rss, flight = rng.randint(180, 1400), rng.randint(0, 32)
            beat = f"Heartbeat ok (rss {rss} MB, {flight} in flight)"
            log(tick + 1, DEBUG, module, "heartbeat", beat)
        if rng.random() < 0.08:
            warning = rng.choice(_WARNINGS)
            warning = warning.format(n=rng.randint(20, 400), w=rng.randint(1, 8))
            log(tick - rng.uniform(60, 600), WARNING, module, function, warning)
        h.timing(
            plan, run, module, function, (previous, tick - previous), (handled, handled - bad, bad)
        )
        previous, tick = tick, tick + rng.uniform(2700, 6000)
    if plan.doc_types:
        mine = [t["status"] for t in h.tasks[first_task:]]
        solved, failed = mine.count(PipelineStatus.COMPLETED), mine.count(PipelineStatus.FAILED)
        run.total, run.solved, run.failed = len(mine), solved, failed
    else:
        run.total, run.solved, run.failed = total, total - failed, failed
    took = duration_text(cut)
    if run.status is RuntimeStatus.STOPPED:
        drain = f"Received SIGTERM (deploy); draining {rng.randint(0, 12)} in-flight {unit}"
        log(max(1.0, cut - 2), INFO, module, "serve", drain)
        log(cut, INFO, RUNNER, "run", f"Shutdown complete after {took}")
    elif run.status is RuntimeStatus.FAILED:
        log(max(1.0, cut - 0.5), ERROR, module, function, run.error or "crashed")
        log(cut, ERROR, RUNNER, "run", f"Service exited unexpectedly after {took}; restarting")
    h.runtime_row(plan, run)
    return run
