"""A bulk START of 10,000 apps from the POST to every command confirmed on RabbitMQ,
beside the raw pika publish rate (with publisher confirms) of the same messages.

One run, side by side, on a scratch PostgreSQL database and a scratch RabbitMQ vhost,
every part a real process as in production (the Procfile's ``web``, ``worker`` and
``relay``; the server is ``dcctl serve``, one uvicorn process):

* end to end: ``POST /api/v1/bulk/start`` with ``{"filter": {"group": "bulk"}}`` as an
  operator (bearer token from ``POST /api/v1/auth/token``) → the server matches the
  ``--apps`` apps, creates the ``BulkJob`` and sends ``apply_bulk_job`` to Dramatiq on
  RabbitMQ → ``dramatiq workers`` splits it into one message per chunk of 500 apps and
  applies each chunk in one transaction with set-based statements (``issue_many``:
  flags, ``Command``, ``Outbox`` and audit rows, then the apps'
  ``BulkJobItem``) → ``dcctl relay`` publishes a batch of outbox rows to the exchange
  ``dc.commands``, waits for the broker's confirms of the whole batch and marks the
  commands ``published``. Done when every
  command of the job is ``published``; the times come from the rows' own stamps
  (``bulk_job.started/finished``, ``command.requested_at/published_at``);
* the two halves apart: the same job again with the relay stopped (the worker alone,
  POST → job completed; before it the first job's commands are acknowledged and the
  apps' flags cleared, as managers do), then ``dcctl relay`` started on those
  ``--apps`` pre-written outbox rows (the relay alone, first → last confirm);
* raw pika one confirm at a time: the first job's messages (the same routing keys,
  bodies, headers and properties) published on one ``BlockingConnection`` with
  ``confirm_delivery()``, one ``basic_publish`` at a time, each waiting for its confirm;
* raw pika with batched confirms: the same messages on one ``SelectConnection`` in
  confirm mode, ``--relay-batch`` of them written at once and then their confirms
  awaited together — what the relay's ``RabbitMQTransport.publish_many`` does, without
  the database.

A durable queue bound to ``dc.commands`` with ``#`` receives the messages (nothing
consumes them; it is emptied between series and its depth checked). The scratch vhost
(``rabbitmqctl add_vhost``, deleted at the end) keeps the Dramatiq ``bulk`` queue and
the commands away from any other worker or agent on the machine; without
``rabbitmqctl`` the vhost of ``DC_BENCH_RABBITMQ_URL`` is used and the bench queue
deleted at the end. Events go to the Redis of ``DC_BENCH_REDIS_URL`` (default db 12) on a
channel of their own, as in a deployment with RabbitMQ (``--no-redis``: in-process).

The measurements run under the machine-wide benchmark lock, after waiting for other CPU
use to settle (``--quiet-timeout``, ``--max-busy``); what was found is recorded.
Prints tables and the ratios to both raw series; ``--record`` rewrites this benchmark's section of
bench/RESULTS.md.

    .venv/bin/python bench/bulk_start.py [--apps 10000] [--record]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

import httpx
import pika
import pika.exceptions
import psutil
from _common import (
    REPO_DIR,
    Series,
    busy_warning,
    code_version,
    create_bench_user,
    dcctl_serve,
    environment_with,
    exclusive_machine,
    fmt_ms,
    load_average,
    login,
    machine_description,
    make_app_rows,
    markdown_table,
    now_utc,
    pg_connect,
    postgres_version,
    scratch_database,
    wait_until_quiet,
    write_results_section,
)

from control.apps.models import Apps
from control.commands.messages import CONTENT_TYPE, EXCHANGE, EXCHANGE_TYPE
from control.db import migrate
from control.db.database import database, init_database

NAME = "bulk_start"
JWT_SECRET = "bench-bulk-start-signing-secret-0123456789"  # never a real one
BENCH_USER = "bench-operator@example.com"
GROUP = "bulk"  # the apps the measured job matches
WARMUP_GROUP = "warmup"  # a small job first: every process connected and warm
WARMUP_APPS = 100
START_PATH = "/api/v1/bulk/start"
QUEUE = "bench.bulk_start.commands"  # bound to dc.commands with '#'; nobody consumes it
PERSISTENT = 2  # delivery_mode, as the relay's transport sets it
RABBITMQ_URL = os.environ.get("DC_BENCH_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
REDIS_URL = os.environ.get("DC_BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
# Counted per token, per address and per login; high enough that nothing is refused.
RATE_LIMITS = {
    "DC_TOKEN_RATE_LIMIT_PER_MINUTE": "1000000000",
    "DC_RATE_LIMIT_PER_MINUTE": "1000000000",
    "DC_AUTH_RATE_LIMIT_PER_MINUTE": "1000",
}
POLL_SECONDS = 0.25

log = logging.getLogger("bench.bulk_start")


# --- Data ---------------------------------------------------------------------------------


def seed(apps: int, seed_value: int) -> str:
    """``apps`` START-able apps in GROUP and WARMUP_APPS in WARMUP_GROUP; where the rows
    came from. Every app is enabled, not fatal, not running and has no command pending."""
    rows, source = make_app_rows(apps + WARMUP_APPS, seed=seed_value)
    for n, row in enumerate(rows):
        row["group"] = GROUP if n < apps else WARMUP_GROUP
        row["disabled"] = False
        row["fatal_flag"] = "NO_FATAL"
        row["fatal_reason"] = None
        row["command_flag"] = "NONE"
        if str(getattr(row["run_status"], "value", row["run_status"])) in ("RUNNING", "STOPPING"):
            row["run_status"] = "IDLE"
            row["progress_current"] = row["progress_total"] = row["progress_updated"] = None
    with database.connection_context(), database.atomic():
        for start in range(0, len(rows), 1000):
            Apps.insert_many(rows[start : start + 1000]).execute()
    vacuum_analyze_database()
    return source


def vacuum_analyze_database() -> None:
    """A settled database, as autovacuum leaves it: visibility map and statistics."""
    with database.connection_context():
        database.execute_sql("VACUUM ANALYZE")


def acknowledge_all(url: str, job_id: str) -> None:
    """What the apps' managers would do with the job's commands: clear the flags and
    acknowledge them, so the same START can be issued again."""
    with closing(pg_connect(url)) as conn, conn.cursor() as cur:
        cur.execute("BEGIN")
        cur.execute(
            "UPDATE apps SET command_flag = 'NONE', command_updated = now() AT TIME ZONE 'UTC'"
            " WHERE group_name = %s",
            (GROUP,),
        )
        cur.execute(
            "UPDATE command SET status = 'acknowledged',"
            " acknowledged_at = now() AT TIME ZONE 'UTC', acknowledged_by = 'bench'"
            " WHERE bulk_job_id = %s",
            (job_id,),
        )
        cur.execute("COMMIT")


# --- RabbitMQ -----------------------------------------------------------------------------


def _rabbitmqctl(*args: str) -> bool:
    ctl = shutil.which("rabbitmqctl")
    if ctl is None:
        return False
    try:
        done = subprocess.run([ctl, *args], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("rabbitmqctl %s: %s", args[0], exc)
        return False
    if done.returncode != 0:
        log.warning("rabbitmqctl %s: %s", args[0], (done.stderr or done.stdout).strip()[:300])
    return done.returncode == 0


@contextmanager
def rabbitmq_vhost(base_url: str) -> Iterator[tuple[str, str]]:
    """A scratch vhost for the run (yields its URL and a description); always deleted.

    Falls back to the vhost of ``base_url`` when ``rabbitmqctl`` cannot create one.
    """
    parsed = urlparse(base_url)
    name = f"bench_bulk_{uuid.uuid4().hex[:10]}"
    if not _rabbitmqctl("add_vhost", name):
        log.warning(
            "no scratch vhost (rabbitmqctl unavailable or refused): using %s's; a Dramatiq "
            "worker consuming its 'bulk' queue would take the benchmark's job",
            parsed.path or "/",
        )
        yield base_url, "the broker's own vhost (no `rabbitmqctl`)"
        return
    try:
        user = parsed.username or "guest"
        if not _rabbitmqctl("set_permissions", "-p", name, user, ".*", ".*", ".*"):
            raise RuntimeError(f"could not give {user} access to the vhost {name}")
        yield parsed._replace(path="/" + quote(name, safe="")).geturl(), "a scratch vhost"
    finally:
        _rabbitmqctl("delete_vhost", name)


def _channel(amqp_url: str) -> tuple[pika.BlockingConnection, Any]:
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    return connection, connection.channel()


@contextmanager
def bench_queue(amqp_url: str) -> Iterator[None]:
    """The exchange as the relay declares it, and a durable queue taking every command
    (as an agent's queue is declared); always deleted."""
    connection, channel = _channel(amqp_url)
    with closing(connection):
        channel.exchange_declare(EXCHANGE, exchange_type=EXCHANGE_TYPE, durable=True)
        channel.queue_declare(QUEUE, durable=True)
        channel.queue_bind(QUEUE, EXCHANGE, routing_key="#")
    try:
        yield
    finally:
        with contextlib.suppress(pika.exceptions.AMQPError, OSError):
            connection, channel = _channel(amqp_url)
            with closing(connection):
                channel.queue_delete(QUEUE)


def queue_depth(amqp_url: str) -> int:
    connection, channel = _channel(amqp_url)
    with closing(connection):
        return int(channel.queue_declare(QUEUE, passive=True).method.message_count)


def purge_queue(amqp_url: str) -> None:
    connection, channel = _channel(amqp_url)
    with closing(connection):
        channel.queue_purge(QUEUE)


# --- Processes ----------------------------------------------------------------------------


def dc_environment(url: str, extra: dict[str, str]) -> dict[str, str]:
    """The worker's and relay's environment: no ``DC_`` variable of ours but these."""
    return environment_with(
        {"DC_JWT_SECRET": JWT_SECRET, "DC_DATABASE_URL": url, "DC_LOG_LEVEL": "WARNING", **extra}
    )


@contextmanager
def background(
    name: str, argv: Sequence[str], env: dict[str, str], workdir: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """``argv`` in ``workdir`` (no ``.env`` of the checkout read), output to
    ``<name>.log`` there; always stopped (SIGTERM, then SIGKILL)."""
    log_path = workdir / f"{name}.log"
    with log_path.open("ab") as out:
        proc = subprocess.Popen(
            list(argv), cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        yield proc
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def tail(workdir: Path, name: str, lines: int = 30) -> str:
    path = workdir / f"{name}.log"
    text = path.read_text(errors="replace") if path.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


def cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` and its children so far (0 when it is gone)."""
    total = 0.0
    try:
        proc = psutil.Process(pid)
        family = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0.0
    for member in family:
        with contextlib.suppress(psutil.Error):
            times = member.cpu_times()
            total += times.user + times.system
    return total


def machine_busy_seconds() -> float:
    """CPU seconds every core spent busy so far (all processes on the machine)."""
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


@dataclass
class CpuMeter:
    """CPU seconds used by named processes (and the whole machine) during a block."""

    pids: dict[str, int]
    used: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def measure(self) -> Iterator[None]:
        before = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        machine = machine_busy_seconds()
        try:
            yield
        finally:
            self.used = {name: cpu_seconds(pid) - before[name] for name, pid in self.pids.items()}
            self.used["machine"] = machine_busy_seconds() - machine


# --- One bulk job -------------------------------------------------------------------------


@dataclass
class JobTimes:
    """One bulk job, in seconds after the POST was sent (from the rows' own stamps)."""

    job_id: str
    commands: int
    accepted: float  # the 202 received (client clock)
    started: float  # bulk_job.started: the worker took the job
    first_written: float  # min(command.requested_at)
    finished: float  # bulk_job.finished: every BulkJobItem written
    first_confirmed: float | None  # min(command.published_at)
    last_confirmed: float | None  # max(command.published_at)
    observed: float  # when the poller saw the condition it waited for
    cpu: dict[str, float] = field(default_factory=dict)


def post_start(base_url: str, token: str, group: str) -> tuple[str, float, float]:
    """``POST /api/v1/bulk/start``; the job id, the wall time sent and the seconds to 202."""
    headers = {"Authorization": f"Bearer {token}"}
    body = {"filter": {"group": group}}
    with httpx.Client(base_url=base_url, headers=headers, timeout=300) as client:
        sent = time.time()
        t0 = time.perf_counter()
        resp = client.post(START_PATH, json=body)
        accepted = time.perf_counter() - t0
    if resp.status_code != 202:
        raise RuntimeError(f"POST {START_PATH}: {resp.status_code} {resp.text[:500]}")
    job_id = str(resp.json()["data"]["id"])
    if resp.headers.get("location") != f"/api/v1/bulk/jobs/{job_id}":
        raise RuntimeError(f"unexpected Location {resp.headers.get('location')!r}")
    return job_id, sent, accepted


def _job_state(cur: Any, job_id: str) -> tuple[str, int]:
    cur.execute("SELECT status FROM bulk_job WHERE id = %s", (job_id,))
    row = cur.fetchone()
    cur.execute(
        "SELECT count(*) FROM command WHERE bulk_job_id = %s AND status = 'published'", (job_id,)
    )
    published = cur.fetchone()
    return (str(row[0]) if row else "missing"), int(published[0]) if published else 0


def wait_for(
    url: str,
    job_id: str,
    expected: int,
    *,
    published: bool,
    timeout: float,
    alive: Sequence[subprocess.Popen[bytes]],
) -> float:
    """Poll until the job is completed (and, with ``published``, every one of its
    ``expected`` commands is published); the wall time it was seen."""
    deadline = time.monotonic() + timeout
    with closing(pg_connect(url)) as conn, conn.cursor() as cur:
        while True:
            status, sent = _job_state(cur, job_id)
            if status == "failed":
                raise RuntimeError(f"bulk job {job_id} failed")
            if status == "completed" and (not published or sent >= expected):
                return time.time()
            for proc in alive:
                if proc.poll() is not None:
                    raise RuntimeError(f"{proc.args} exited ({proc.returncode})")
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"bulk job {job_id}: {status}, {sent}/{expected} published after {timeout} s"
                )
            time.sleep(POLL_SECONDS)


def wait_published(
    url: str, job_id: str, expected: int, timeout: float, alive: Sequence[subprocess.Popen[bytes]]
) -> float:
    """Poll until ``expected`` commands of the job are published; the wall time seen."""
    deadline = time.monotonic() + timeout
    with closing(pg_connect(url)) as conn, conn.cursor() as cur:
        while True:
            _, sent = _job_state(cur, job_id)
            if sent >= expected:
                return time.time()
            for proc in alive:
                if proc.poll() is not None:
                    raise RuntimeError(f"{proc.args} exited ({proc.returncode})")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{sent}/{expected} published after {timeout} s")
            time.sleep(POLL_SECONDS)


def _utc(wall: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(wall, dt.UTC).replace(tzinfo=None)


def job_times(url: str, job_id: str, sent: float, accepted: float, observed: float) -> JobTimes:
    """The job's milestones from its rows, in seconds after ``sent`` (a wall time)."""
    with closing(pg_connect(url)) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT status, started, finished, matched, applied, skipped, failed"
            " FROM bulk_job WHERE id = %s",
            (job_id,),
        )
        status, started, finished, matched, applied, skipped, failed = cur.fetchone()
        cur.execute(
            "SELECT count(*), min(requested_at), min(published_at), max(published_at)"
            " FROM command WHERE bulk_job_id = %s",
            (job_id,),
        )
        commands, first_written, first_confirmed, last_confirmed = cur.fetchone()
    if status != "completed" or applied != matched or skipped or failed or commands != matched:
        raise RuntimeError(
            f"bulk job {job_id}: {status}, {matched} matched, {applied} applied, "
            f"{skipped} skipped, {failed} failed, {commands} commands"
        )
    origin = _utc(sent)

    def after(stamp: dt.datetime | None) -> float | None:
        return None if stamp is None else (stamp - origin).total_seconds()

    return JobTimes(
        job_id=job_id,
        commands=int(commands),
        accepted=accepted,
        started=after(started) or 0.0,
        first_written=after(first_written) or 0.0,
        finished=after(finished) or 0.0,
        first_confirmed=after(first_confirmed),
        last_confirmed=after(last_confirmed),
        observed=observed - sent,
    )


def relay_span(url: str, job_id: str) -> tuple[float, float]:
    """Seconds from the first to the last confirm of the job's commands, and the wall
    time of the first (from ``command.published_at``)."""
    with closing(pg_connect(url)) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT min(published_at), max(published_at) FROM command WHERE bulk_job_id = %s",
            (job_id,),
        )
        first, last = cur.fetchone()
    return (last - first).total_seconds(), first.replace(tzinfo=dt.UTC).timestamp()


def outbox_messages(url: str, job_id: str) -> list[tuple[str, bytes, str, dict[str, str]]]:
    """The job's outbox rows as the relay publishes them: routing key, body, id, headers."""
    with closing(pg_connect(url)) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT o.routing_key, o.payload, o.message_id, o.headers FROM outbox o"
            " JOIN command c ON c.id = o.message_id WHERE c.bulk_job_id = %s ORDER BY o.id",
            (job_id,),
        )
        rows = cur.fetchall()
    messages = []
    for routing_key, payload, message_id, headers in rows:
        if isinstance(headers, str):  # a text column on some databases
            headers = json.loads(headers)
        messages.append((routing_key, payload.encode(), message_id, dict(headers or {})))
    return messages


# --- Raw pika -----------------------------------------------------------------------------


def raw_pika(
    amqp_url: str, messages: Sequence[tuple[str, bytes, str, dict[str, str]]], warmup: int
) -> tuple[Series, float]:
    """Each message published with a confirm, one after another, on one connection (as
    ``RabbitMQTransport.publish`` does: properties built per message); and the client's
    CPU seconds."""
    connection, channel = _channel(amqp_url)
    with closing(connection):
        channel.exchange_declare(EXCHANGE, exchange_type=EXCHANGE_TYPE, durable=True)
        channel.confirm_delivery()

        def publish(message: tuple[str, bytes, str, dict[str, str]]) -> None:
            routing_key, body, message_id, headers = message
            properties = pika.BasicProperties(
                content_type=CONTENT_TYPE,
                delivery_mode=PERSISTENT,
                message_id=message_id,
                timestamp=int(time.time()),
                headers=dict(headers),
            )
            channel.basic_publish(
                exchange=EXCHANGE,
                routing_key=routing_key,
                body=body,
                properties=properties,
                mandatory=False,
            )

        for message in messages[:warmup]:
            publish(message)
        channel.queue_purge(QUEUE)
        latencies: list[float] = []
        cpu_before = time.process_time()
        began = time.perf_counter()
        for message in messages:
            t0 = time.perf_counter()
            publish(message)
            latencies.append(time.perf_counter() - t0)
        wall = time.perf_counter() - began
        cpu = time.process_time() - cpu_before
    label = "raw pika: `basic_publish` + confirm, one at a time, 1 connection"
    return Series(label, latencies, wall), cpu


def raw_pika_batched(
    amqp_url: str,
    messages: Sequence[tuple[str, bytes, str, dict[str, str]]],
    warmup: int,
    batch: int,
) -> tuple[Series, float]:
    """The same messages in batches of ``batch`` on one ``SelectConnection`` in confirm
    mode: each batch written at once, then the I/O loop run until the broker has acked
    every delivery tag of it (acks may be ``multiple``), then the next batch. Each
    message's latency is its batch's. Also the client's CPU seconds."""
    settled: set[int] = set()
    low = [1]  # every delivery tag below this one is acked
    opened: list[Any] = []
    waiting = [0]  # the highest delivery tag the loop waits for

    def on_confirm(frame: Any) -> None:
        method = frame.method
        if not isinstance(method, pika.spec.Basic.Ack):
            raise RuntimeError(f"the broker nacked delivery tag {method.delivery_tag}")
        tags = range(low[0], method.delivery_tag + 1) if method.multiple else [method.delivery_tag]
        settled.update(tags)
        while low[0] in settled:
            settled.discard(low[0])
            low[0] += 1
        if low[0] > waiting[0]:
            connection.ioloop.stop()

    def on_channel(channel: Any) -> None:
        def confirming(_frame: Any) -> None:
            channel.confirm_delivery(on_confirm, callback=lambda _f: connection.ioloop.stop())

        opened.append(channel)
        channel.exchange_declare(
            EXCHANGE, exchange_type=EXCHANGE_TYPE, durable=True, callback=confirming
        )

    def on_failed(_connection: Any, error: BaseException) -> None:
        connection.ioloop.stop()
        raise RuntimeError(f"raw pika connection failed: {error}")

    connection = pika.SelectConnection(
        pika.URLParameters(amqp_url),
        on_open_callback=lambda c: c.channel(on_open_callback=on_channel),
        on_open_error_callback=on_failed,
        on_close_callback=lambda c, _reason: c.ioloop.stop(),
    )
    connection.ioloop.start()  # until confirm mode is on
    (channel,) = opened
    tag = 0

    def publish_batch(chunk: Sequence[tuple[str, bytes, str, dict[str, str]]]) -> None:
        nonlocal tag
        stamp = int(time.time())
        for routing_key, body, message_id, headers in chunk:
            properties = pika.BasicProperties(
                content_type=CONTENT_TYPE,
                delivery_mode=PERSISTENT,
                message_id=message_id,
                timestamp=stamp,
                headers=dict(headers),
            )
            channel.basic_publish(EXCHANGE, routing_key, body, properties)
            tag += 1
        waiting[0] = tag
        connection.ioloop.start()  # until the batch's last tag is acked

    try:
        for i in range(0, warmup, batch):
            publish_batch(messages[i : min(warmup, i + batch)])
        purge_queue(amqp_url)
        latencies: list[float] = []
        cpu_before = time.process_time()
        began = time.perf_counter()
        for i in range(0, len(messages), batch):
            chunk = messages[i : i + batch]
            t0 = time.perf_counter()
            publish_batch(chunk)
            latencies += [time.perf_counter() - t0] * len(chunk)
        wall = time.perf_counter() - began
        cpu = time.process_time() - cpu_before
    finally:
        connection.close()
        connection.ioloop.start()  # until closed
        connection.ioloop.close()
    label = f"raw pika: batches of {batch} `basic_publish`, then their confirms, 1 connection"
    return Series(label, latencies, wall), cpu


# --- Report -------------------------------------------------------------------------------


@dataclass
class Row:
    label: str
    messages: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds else float("nan")


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def report(
    e2e: JobTimes,
    worker: JobTimes,
    relay_seconds: float,
    relay_from_start: float,
    raw: Series,
    raw_cpu: float,
    batched: Series,
    batched_cpu: float,
) -> tuple[str, str, list[str]]:
    n = e2e.commands
    end = e2e.last_confirmed or float("nan")
    rows = [
        Row("end to end: POST → every command confirmed (server, worker, relay)", n, end),
        Row("worker alone (relay stopped): POST → job completed", n, worker.finished),
        Row("relay alone on pre-written outbox rows: first → last confirm", n, relay_seconds),
        Row(raw.label, len(raw.latencies), raw.wall),
        Row(batched.label, len(batched.latencies), batched.wall),
    ]
    table = markdown_table(
        [
            "series",
            "messages",
            "seconds",
            "messages/s",
            "/ raw pika one at a time",
            "/ raw pika batched",
        ],
        [
            [
                r.label,
                f"{r.messages:,}",
                f"{r.seconds:.2f}",
                f"{r.rate:,.0f}",
                f"{r.rate / raw.rate:.2f}x",
                f"{r.rate / batched.rate:.2f}x",
            ]
            for r in rows
        ],
    )
    timeline = markdown_table(
        ["milestone (end to end)", "s after POST", "worker alone: s after POST"],
        [
            ["202 Accepted received", _s(e2e.accepted), _s(worker.accepted)],
            ["worker took the job (`bulk_job.started`)", _s(e2e.started), _s(worker.started)],
            ["first command written", _s(e2e.first_written), _s(worker.first_written)],
            ["first command confirmed", _s(e2e.first_confirmed), "-"],
            ["job completed (`bulk_job.finished`)", _s(e2e.finished), _s(worker.finished)],
            ["every command confirmed", _s(e2e.last_confirmed), "-"],
        ],
    )
    applying = e2e.finished - e2e.started
    alone = worker.finished - worker.started
    ratios = [
        f"end to end / raw pika one confirm at a time: **{rows[0].rate / raw.rate:.2f}** "
        f"({rows[0].rate:,.0f} vs {raw.rate:,.0f} commands/s)",
        f"end to end / raw pika with batched confirms: **{rows[0].rate / batched.rate:.2f}** "
        f"({rows[0].rate:,.0f} vs {batched.rate:,.0f} commands/s)",
        f"worker applying the job: {n / applying:,.0f} apps/s with the relay running, "
        f"{n / alone:,.0f} apps/s alone ({applying:.2f} s vs {alone:.2f} s)",
        f"relay alone / raw pika one at a time: **{rows[2].rate / raw.rate:.2f}**, "
        f"/ raw pika batched: **{rows[2].rate / batched.rate:.2f}** "
        f"({rows[2].rate:,.0f} vs {raw.rate:,.0f} and {batched.rate:,.0f} messages/s; from "
        f"the relay process's start {relay_from_start:.2f} s)",
        f"raw pika publish + confirm: p50 {fmt_ms(raw.pct(50))} ms, "
        f"p99 {fmt_ms(raw.pct(99))} ms, client CPU {1e6 * raw_cpu / len(raw.latencies):.0f} µs "
        "per message",
        f"raw pika batched: client CPU {1e6 * batched_cpu / len(batched.latencies):.0f} µs "
        "per message",
    ]
    if e2e.last_confirmed is not None:
        ratios.append(
            f"last confirm {e2e.last_confirmed - e2e.finished:.2f} s after the job completed "
            f"(the relay's lag behind the worker); the poller saw it at {e2e.observed:.2f} s"
        )
    for label, times in (("end to end", e2e), ("worker alone", worker)):
        if times.cpu:
            used = times.cpu
            parts = ", ".join(
                f"{name} {used[name]:.1f} s"
                for name in ("server", "worker", "relay")
                if name in used
            )
            ratios.append(
                f"CPU during {label}: {parts}; the whole machine {used['machine']:.1f} s "
                "(PostgreSQL, RabbitMQ and anything else included)"
            )
    return table, timeline, ratios


# --- Main ---------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--apps", type=int, default=10_000, help="apps the bulk START matches")
    parser.add_argument("--seed", type=int, default=7, help="seed of the app rows")
    parser.add_argument("--relay-batch", type=int, default=100, help="dcctl relay --batch")
    parser.add_argument("--worker-threads", type=int, default=1, help="dramatiq workers --threads")
    parser.add_argument(
        "--worker-processes", type=int, default=1, help="dramatiq workers --processes"
    )
    parser.add_argument("--warmup", type=int, default=200, help="raw pika messages first")
    parser.add_argument(
        "--raw-messages",
        type=int,
        default=None,
        metavar="N",
        help="the raw pika series publish the first N of the job's messages (default: all)",
    )
    parser.add_argument(
        "--timeout", type=float, default=1800, help="seconds a job may take before failing"
    )
    parser.add_argument("--no-redis", action="store_true", help="in-process event bus instead")
    parser.add_argument("--record", action="store_true", help="rewrite bench/RESULTS.md")
    parser.add_argument(
        "--quiet-timeout",
        type=float,
        default=600,
        metavar="S",
        help="wait up to S seconds for the other CPU use to drop under --max-busy",
    )
    parser.add_argument(
        "--max-busy", type=float, default=25.0, metavar="PCT", help="CPU %% busy to wait out"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("pika").setLevel(logging.WARNING)

    channel = f"bench:bulk_start:{uuid.uuid4().hex[:8]}"
    with (
        scratch_database("bench_bulk") as url,
        tempfile.TemporaryDirectory() as tmp,
        rabbitmq_vhost(RABBITMQ_URL) as (amqp_url, vhost),
        bench_queue(amqp_url),
    ):
        workdir = Path(tmp)
        db = init_database(url)
        try:
            migrate.upgrade(db)
            db.close()
            log.info("seeding %d apps (+%d for the warm-up) ...", args.apps, WARMUP_APPS)
            source = seed(args.apps, args.seed)
            password = create_bench_user(BENCH_USER, "operator")
            pg_version = postgres_version(url)
            extra = {
                "DC_RABBITMQ_URL": amqp_url,
                "DC_BROKER": "rabbitmq",
                "DC_EMBEDDED_BACKGROUND": "false",
                "DC_BULK_MAX_APPS": str(max(args.apps, WARMUP_APPS, 5000)),
                "DC_EVENTS_CHANNEL": channel,
                **({} if args.no_redis else {"DC_REDIS_URL": REDIS_URL}),
                **RATE_LIMITS,
            }
            env = dc_environment(url, extra)
            venv = REPO_DIR / ".venv" / "bin"
            worker_argv = [
                str(venv / "dramatiq"),
                "workers.broker:setup",
                "workers",
                "--processes",
                str(args.worker_processes),
                "--threads",
                str(args.worker_threads),
                "--worker-shutdown-timeout",
                "25000",
            ]
            relay_argv = [str(venv / "dcctl"), "relay", "--batch", str(args.relay_batch)]

            log.info("waiting for the machine-wide benchmark lock ...")
            with (
                exclusive_machine(),
                dcctl_serve(url, workdir, JWT_SECRET, extra) as (base_url, server_pid),
                background("worker", worker_argv, env, workdir) as worker,
            ):
                with background("relay-1", relay_argv, env, workdir) as relay:
                    alive = [worker, relay]
                    log.info("server %s up; warm-up job of %d apps ...", base_url, WARMUP_APPS)
                    token = login(base_url, BENCH_USER, password)
                    warm_id, _, _ = post_start(base_url, token, WARMUP_GROUP)
                    try:
                        wait_for(
                            url, warm_id, WARMUP_APPS, published=True, timeout=120, alive=alive
                        )
                    except RuntimeError:
                        for name in ("worker", "relay-1", "server"):
                            log.error("--- %s.log:\n%s", name, tail(workdir, name))
                        raise
                    purge_queue(amqp_url)
                    log.info("waiting for a quiet machine ...")
                    busy_before = wait_until_quiet(args.max_busy, args.quiet_timeout)
                    log.info("  %.0f%% of the CPUs busy before measuring", busy_before)
                    token = login(base_url, BENCH_USER, password)  # fresh: tokens live 30 min
                    load_before = load_average()

                    log.info("end to end: bulk START of %d apps ...", args.apps)
                    meter = CpuMeter(
                        {"server": server_pid, "worker": worker.pid, "relay": relay.pid}
                    )
                    with meter.measure():
                        job1, sent, accepted = post_start(base_url, token, GROUP)
                        seen = wait_for(
                            url, job1, args.apps, published=True, timeout=args.timeout, alive=alive
                        )
                    e2e = job_times(url, job1, sent, accepted, seen)
                    e2e.cpu = meter.used
                    depth = queue_depth(amqp_url)
                    if depth != args.apps:
                        raise RuntimeError(f"{depth} messages in {QUEUE}, expected {args.apps}")
                    log.info("  every command confirmed %.2f s after the POST", e2e.last_confirmed)

                log.info("worker alone (relay stopped) ...")
                acknowledge_all(url, job1)
                purge_queue(amqp_url)
                with database.connection_context():
                    database.execute_sql("VACUUM ANALYZE")
                meter = CpuMeter({"server": server_pid, "worker": worker.pid})
                with meter.measure():
                    job2, sent2, accepted2 = post_start(base_url, token, GROUP)
                    seen2 = wait_for(
                        url, job2, args.apps, published=False, timeout=args.timeout, alive=[worker]
                    )
                alone = job_times(url, job2, sent2, accepted2, seen2)
                alone.cpu = meter.used
                log.info("  job completed %.2f s after the POST", alone.finished)

                log.info("relay alone on %d pre-written outbox rows ...", args.apps)
                relay_started = time.time()
                with background("relay-2", relay_argv, env, workdir) as relay2:
                    wait_published(url, job2, args.apps, args.timeout, [worker, relay2])
                relay_seconds, first_wall = relay_span(url, job2)
                relay_from_start = relay_seconds + (first_wall - relay_started)
                depth = queue_depth(amqp_url)
                if depth != args.apps:
                    raise RuntimeError(f"{depth} messages in {QUEUE}, expected {args.apps}")
                log.info("  first to last confirm %.2f s", relay_seconds)

                log.info("raw pika, %d messages with confirms ...", args.raw_messages or args.apps)
                messages = outbox_messages(url, job1)[: args.raw_messages]
                purge_queue(amqp_url)
                raw, raw_cpu = raw_pika(amqp_url, messages, args.warmup)
                depth = queue_depth(amqp_url)
                if depth != len(messages):
                    raise RuntimeError(f"{depth} messages in {QUEUE}, expected {len(messages)}")
                log.info(
                    "raw pika, %d messages in batches of %d ...", len(messages), args.relay_batch
                )
                purge_queue(amqp_url)
                batched, batched_cpu = raw_pika_batched(
                    amqp_url, messages, args.warmup, args.relay_batch
                )
                depth = queue_depth(amqp_url)
                if depth != len(messages):
                    raise RuntimeError(f"{depth} messages in {QUEUE}, expected {len(messages)}")
                load_after = load_average()
            payload_bytes = sum(len(m[1]) for m in messages) / len(messages)
        finally:
            if not db.is_closed():
                db.close()
            if hasattr(db, "close_all"):
                db.close_all()

    table, timeline, ratios = report(
        e2e, alone, relay_seconds, relay_from_start, raw, raw_cpu, batched, batched_cpu
    )
    machine = machine_description(pg_version)
    print()
    print(table)
    print()
    print(timeline)
    print()
    for line in ratios:
        print(line.replace("**", ""))
    print(
        f"CPUs busy before measuring {busy_before:.0f}%; "
        f"load average before {load_before}, after {load_after}"
    )

    raw_which = "all" if len(messages) == args.apps else f"the first {len(messages):,} of"
    if args.record:
        body = "\n".join(
            [
                "## bulk_start: a bulk START from the POST to every command confirmed on "
                "RabbitMQ, beside raw pika",
                "",
                f"Run {now_utc()} with `bench/bulk_start.py --apps {args.apps}` on code "
                f"{code_version()}.",
                "",
                "Machine: " + "; ".join(f"{k} {v}" for k, v in machine.items()) + ". "
                f"Other work before measuring: {busy_before:.0f}% of the CPUs busy; "
                f"load average (1/5/15 min) before {load_before}, after {load_after}.",
                "",
                f"Parameters: {args.apps:,} START-able apps in one group (rows from {source}, "
                "made enabled, not fatal, not running; VACUUM ANALYZE after); "
                f'`POST {START_PATH}` with `{{"filter": {{"group": "{GROUP}"}}}}` as an '
                "operator with a bearer token; every part its own process on the same "
                "machine as PostgreSQL and RabbitMQ: `dcctl serve` (uvicorn, one process, "
                "`DC_EMBEDDED_BACKGROUND=false`), `dramatiq workers --processes "
                f"{args.worker_processes} --threads {args.worker_threads}` "
                "(Dramatiq on RabbitMQ with publisher confirms), "
                f"`dcctl relay --batch {args.relay_batch}` (the Procfile's, polling every "
                "second when idle); events "
                + ("in-process" if args.no_redis else "on Redis pub/sub")
                + f"; {vhost}, exchange `{EXCHANGE}` bound with `#` to one durable classic "
                f"queue nobody consumes (emptied between series; depth checked after each). "
                f"Messages: persistent, {payload_bytes:.0f}-byte JSON bodies on average. A "
                f"warm-up job of {WARMUP_APPS} apps first. Times come from the rows' stamps "
                "(`bulk_job.started/finished`, `command.requested_at/published_at`, the relay "
                "stamping a batch's rows once all of them are confirmed) against the "
                "client's clock when it sent the POST. Worker alone = the same job again "
                "with the relay stopped, "
                "after the first job's commands were acknowledged and the flags cleared (as "
                "managers do); relay alone = `dcctl relay` then started on those outbox rows. "
                f"Raw pika = {raw_which} the first job's messages (same routing keys, bodies, "
                "headers, "
                "properties) with `confirm_delivery()` on one `BlockingConnection`, one "
                f"`basic_publish` waiting for its confirm at a time, after {args.warmup} "
                "warm-up messages; raw pika batched = the same messages on one "
                f"`SelectConnection` in confirm mode, {args.relay_batch} `basic_publish` at a "
                "time (the relay's batch) and then their confirms (acks by delivery tag), "
                "after the same warm-up. The relay publishes a batch of outbox rows, then "
                "waits for the broker's confirms of the whole batch before marking them.",
                "",
                *busy_warning(busy_before, args.max_busy, args.quiet_timeout),
                table,
                "",
                timeline,
                "",
                *(f"- {line}" for line in ratios),
            ]
        )
        write_results_section(NAME, body)
        print(f"\nrecorded in {Path('bench/RESULTS.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
