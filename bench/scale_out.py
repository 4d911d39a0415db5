"""Scale-out shown: 2 web replicas, 2 worker processes and 2 agents on the same
PostgreSQL, RabbitMQ and Redis; a 10,000-app bulk job shared by both workers, and
WebSocket clients on both replicas each getting every event of a known set once.

Every part its own process, as the ``Procfile`` starts it, as if on separate hosts:

* two web replicas: ``gunicorn -c ops/gunicorn.conf.py control.cli.asgi:app`` on two
  ports (``--web-workers`` uvicorn workers each, 1 by default: the machine has 2 cores);
* two worker processes: two separate ``dramatiq workers.broker:setup workers --queues
  bulk maintenance --processes 1 --threads 2`` (the Procfile's ``worker-long``, prefetch
  1), run with ``--verbose`` so each logs the messages it received: the chunks it took;
* one ``dcctl relay`` (the outbox publisher);
* two agents: ``dcctl agent --group edge_a`` and ``--group edge_b``, each hosting
  ``--edge-apps`` small apps (``tests/agent_apps.py``'s ``test.quick``).

Dramatiq and the commands on a scratch RabbitMQ vhost (a queue bound to ``fleet.#``
counts the fleet's commands), events on Redis pub/sub on a channel of their own, a
scratch PostgreSQL database with ``--apps`` (10,000) START-able apps in the group
``fleet``.

The run: ``--viewers`` WebSocket clients on each replica subscribe to
``app.command_sent`` and ``runtime.completed`` on ``/api/v1/ws/dashboard``; then a bulk
START of the fleet is posted to replica 1 and one of each agent's group to replica 2
and replica 1. Done when the fleet job is completed with every command confirmed on
RabbitMQ and every agent app's run has completed. Then: how many of the fleet job's
chunks each worker took (from its log), that no app was commanded twice, and, for each
client, the known set (every command's ``app.command_sent``, every agent run's
``runtime.completed``, from the database) against what it received: missing and
duplicated events.

Prints tables; ``--record`` rewrites this benchmark's section of bench/RESULTS.md.

    .venv/bin/python bench/scale_out.py [--apps 10000] [--viewers 3] [--record]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import re
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pika
from _common import (
    busy_cpu_percent,
    code_version,
    create_bench_user,
    load_average,
    login,
    machine_description,
    make_app_rows,
    markdown_table,
    now_utc,
    pg_connect,
    postgres_version,
    scratch_database,
    write_results_section,
)
from _stack import (
    RATE_LIMITS,
    REDIS_URL,
    VENV_BIN,
    WORKER_ARGV,
    WORKER_ENV,
    Proc,
    Viewer,
    background,
    dc_environment,
    exit_on_sigterm,
    gunicorn_web,
    machine_lock,
    postgres_connections,
    rabbitmq_vhost,
    view,
)

from control.apps.models import Apps
from control.commands.messages import EXCHANGE, EXCHANGE_TYPE
from control.db import migrate
from control.db.database import database, init_database

NAME = "scale_out"
JWT_SECRET = "bench-scale-out-signing-secret-0123456789"  # never a real one
BENCH_USER = "bench-scale-operator@example.com"
FLEET = "fleet"
EDGES = ("edge_a", "edge_b")
FLEET_QUEUE = "bench.scale_out.fleet"
KEYS = {"app.command_sent": "command_id", "runtime.completed": "runtime"}
AGENT_APPS = "test.quick=tests.agent_apps:quick"
POLL_SECONDS = 0.5

log = logging.getLogger("bench.scale_out")


# --- Data ---------------------------------------------------------------------------------


def seed(apps: int, edge_apps: int, seed_value: int) -> str:
    """``apps`` START-able apps in FLEET, ``edge_apps`` quick apps in each agent's group;
    where the fleet's rows came from."""
    rows, source = make_app_rows(apps, seed=seed_value)
    for row in rows:
        row.update(group=FLEET, disabled=False, fatal_flag="NO_FATAL", fatal_reason=None)
        row.update(command_flag="NONE", run_status="IDLE", progress_current=None)
        row.update(progress_total=None, progress_updated=None)
    edges = [
        {
            "id": f"{group}_{n:02d}",
            "group": group,
            "parent": "edge",
            "app": f"{group}_{n:02d}",
            "settings": {"entrypoint": "test.quick", "items": 6},
        }
        for group in EDGES
        for n in range(edge_apps)
    ]
    with database.connection_context(), database.atomic():
        for start in range(0, len(rows), 1000):
            Apps.insert_many(rows[start : start + 1000]).execute()
        for edge in edges:
            Apps.create(**edge)
    with database.connection_context():
        database.execute_sql("VACUUM ANALYZE")
    return source


def fleet_queue(amqp_url: str, purge: bool = False) -> int:
    """Declare the exchange and a queue taking the fleet's commands; its depth."""
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    with closing(connection):
        channel = connection.channel()
        channel.exchange_declare(EXCHANGE, exchange_type=EXCHANGE_TYPE, durable=True)
        declared = channel.queue_declare(FLEET_QUEUE, durable=True)
        channel.queue_bind(FLEET_QUEUE, EXCHANGE, routing_key=f"{FLEET}.#")
        return int(declared.method.message_count)


# --- The run --------------------------------------------------------------------------------


def post_start(base_url: str, token: str, group: str) -> tuple[str, float]:
    """``POST /api/v1/bulk/start`` for ``group``; the job id and the wall time sent."""
    sent = time.time()
    resp = httpx.post(
        base_url + "/api/v1/bulk/start",
        json={"filter": {"group": group}},
        headers={"Authorization": f"Bearer {token}"},
        timeout=120,
    )
    if resp.status_code != 202:
        raise RuntimeError(f"bulk start {group}: {resp.status_code} {resp.text[:300]}")
    return str(resp.json()["data"]["id"]), sent


def progress(url: str, fleet_job: str) -> tuple[str, int, int]:
    """The fleet job's status, its commands published, the agent runs completed."""
    with closing(pg_connect(url)) as conn, conn.cursor() as cur:
        cur.execute("SELECT status FROM bulk_job WHERE id = %s", (fleet_job,))
        status = str(cur.fetchone()[0])
        cur.execute(
            "SELECT count(*) FROM command WHERE bulk_job_id = %s AND status <> 'pending'",
            (fleet_job,),
        )
        published = int(cur.fetchone()[0])
        cur.execute("SELECT count(*) FROM runtime WHERE status = 'COMPLETED'")
        runs = int(cur.fetchone()[0])
    return status, published, runs


async def wait_done(
    url: str, fleet_job: str, apps: int, runs: int, seconds: float, procs: Sequence[Proc]
) -> float:
    """Until the fleet job is completed and published and ``runs`` runs completed; the
    wall time it was seen."""
    deadline = time.monotonic() + seconds
    while True:
        status, published, completed = progress(url, fleet_job)
        if status == "completed" and published >= apps and completed >= runs:
            return time.time()
        if status in ("failed", "cancelled"):
            raise RuntimeError(f"fleet job {fleet_job} {status}")
        for proc in procs:
            proc.check()
        if time.monotonic() > deadline:
            tails = "\n".join(f"--- {p.name}\n{p.tail(15)}" for p in procs)
            raise RuntimeError(
                f"after {seconds:.0f} s: job {status}, {published}/{apps} published, "
                f"{completed}/{runs} runs completed\n{tails}"
            )
        await asyncio.sleep(POLL_SECONDS)


async def run(
    replicas: Sequence[str],
    token: str,
    url: str,
    args: argparse.Namespace,
    procs: Sequence[Proc],
) -> tuple[list[Viewer], dict[str, Any]]:
    stop = asyncio.Event()
    viewers: list[Viewer] = []
    tasks = []
    readies = []
    for n, base_url in enumerate(replicas, 1):
        for k in range(args.viewers):
            viewer = Viewer(f"replica {n} client {k + 1}")
            ready = asyncio.Event()
            viewers.append(viewer)
            readies.append(ready)
            tasks.append(asyncio.create_task(view(base_url, token, KEYS, viewer, ready, stop)))
    await asyncio.gather(*(r.wait() for r in readies))
    failed = [v for v in viewers if v.error]
    if failed:
        raise RuntimeError(f"{len(failed)} clients failed to subscribe: {failed[0].error}")
    log.info("  %d clients subscribed on %d replicas", len(viewers), len(replicas))
    fleet_job, sent = post_start(replicas[0], token, FLEET)
    edge_jobs = [
        post_start(replicas[(n + 1) % len(replicas)], token, group)[0]
        for n, group in enumerate(EDGES)
    ]
    log.info("  bulk START of %d apps posted (job %s) ...", args.apps, fleet_job)
    seen = await wait_done(
        url, fleet_job, args.apps, args.edge_apps * len(EDGES), args.timeout, procs
    )
    await asyncio.sleep(3.0)  # the last events on their way through Redis
    stop.set()
    await asyncio.gather(*tasks)
    return viewers, {"fleet_job": fleet_job, "edge_jobs": edge_jobs, "sent": sent, "seen": seen}


# --- Checks -------------------------------------------------------------------------------


def chunks_taken(worker: Proc, job_id: str) -> Counter[tuple[int, int]]:
    """The job's chunk messages the worker received, from its ``--verbose`` log
    (Dramatiq's "Received message apply_bulk_job('<job>', start, stop)")."""
    pattern = re.compile(
        r"Received message apply_bulk_job\('" + re.escape(job_id) + r"', (\d+), (\d+)\)"
    )
    return Counter((int(a), int(b)) for a, b in pattern.findall(worker.output()))


def job_facts(url: str, job_id: str) -> dict[str, Any]:
    with closing(pg_connect(url)) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT status, matched, applied, skipped, failed, started, finished"
            " FROM bulk_job WHERE id = %s",
            (job_id,),
        )
        status, matched, applied, skipped, failed, started, finished = cur.fetchone()
        cur.execute(
            "SELECT count(*), count(DISTINCT app_id), min(requested_at), max(published_at)"
            " FROM command WHERE bulk_job_id = %s",
            (job_id,),
        )
        commands, distinct_apps, first_written, last_published = cur.fetchone()
        cur.execute("SELECT count(*) FROM bulk_job_item WHERE job_id = %s", (job_id,))
        items = int(cur.fetchone()[0])
    return {
        "status": status,
        "matched": matched,
        "applied": applied,
        "skipped": skipped,
        "failed": failed,
        "commands": commands,
        "distinct_apps": distinct_apps,
        "items": items,
        "started": started,
        "finished": finished,
        "first_written": first_written,
        "last_published": last_published,
    }


def known_set(url: str) -> set[str]:
    """Every command's ``app.command_sent`` and every completed run's
    ``runtime.completed``, as the clients key them."""
    with closing(pg_connect(url)) as conn, conn.cursor() as cur:
        cur.execute("SELECT id FROM command")
        known = {f"app.command_sent:{row[0]}" for row in cur.fetchall()}
        cur.execute("SELECT id FROM runtime WHERE status = 'COMPLETED'")
        known |= {f"runtime.completed:{row[0]}" for row in cur.fetchall()}
    return known


# --- Report -------------------------------------------------------------------------------


def report(
    workers: Sequence[Proc],
    taken: Sequence[Counter[tuple[int, int]]],
    facts: dict[str, Any],
    depth: int,
    viewers: Sequence[Viewer],
    known: set[str],
    times: dict[str, Any],
    args: argparse.Namespace,
) -> tuple[str, str, list[str]]:
    every = set().union(*(set(t) for t in taken))
    expected_chunks = -(-args.apps // args.chunk)
    chunk_table = markdown_table(
        ["worker process", "chunks received", "distinct chunks", "apps in them"],
        [
            [
                worker.name,
                str(sum(t.values())),
                str(len(t)),
                f"{sum(b - a for a, b in t):,}",
            ]
            for worker, t in zip(workers, taken, strict=True)
        ]
        + [["**both**", str(sum(sum(t.values()) for t in taken)), str(len(every)), ""]],
    )
    rows = []
    for viewer in viewers:
        seen = Counter(viewer.keys)
        got = sum(1 for key in seen if key in known)
        rows.append(
            [
                viewer.label,
                f"{len(known):,}",
                f"{got:,}",
                f"{len(known - seen.keys()):,}",
                f"{sum(n - 1 for n in seen.values() if n > 1):,}",
                f"{sum(1 for key in seen if key not in known):,}",
                f"{viewer.dropped:,}",
            ]
        )
    ws_table = markdown_table(
        ["client", "known events", "received", "missing", "duplicates", "unknown", "dropped"],
        rows,
    )
    began = facts["started"] or facts["first_written"]  # a chunked job may not stamp it
    span = (facts["finished"] - began).total_seconds()
    # the stamps are naive UTC
    confirmed = facts["last_published"].replace(tzinfo=dt.UTC).timestamp() - times["sent"]
    lines = [
        f"fleet job: {facts['status']}, {facts['matched']:,} matched, {facts['applied']:,} "
        f"applied, {facts['skipped']} skipped, {facts['failed']} failed; {facts['items']:,} "
        f"result rows; {facts['commands']:,} commands for {facts['distinct_apps']:,} distinct "
        f"apps (no app commanded twice: {facts['commands'] == facts['distinct_apps']}); "
        f"{depth:,} messages in the queue bound to `{FLEET}.#`",
        f"chunks: {len(every)} of {expected_chunks} distinct chunks taken, split "
        + " / ".join(f"{len(t)}" for t in taken)
        + " between the two worker processes",
        f"workers applied the job in {span:.1f} s ({facts['applied'] / span:,.0f} apps/s); "
        f"every command confirmed on RabbitMQ {confirmed:.1f} s after the POST",
    ]
    return chunk_table, ws_table, lines


# --- Main ---------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--apps", type=int, default=10_000, help="apps the fleet job matches")
    parser.add_argument("--edge-apps", type=int, default=10, help="quick apps per agent")
    parser.add_argument("--viewers", type=int, default=3, help="WebSocket clients per replica")
    parser.add_argument("--web-workers", type=int, default=1, help="DC_API_WORKERS per replica")
    parser.add_argument("--timeout", type=float, default=900, help="seconds the run may take")
    parser.add_argument(
        "--lock-timeout", type=float, default=900, help="seconds to wait for the machine lock"
    )
    parser.add_argument("--seed", type=int, default=13, help="seed of the app rows")
    parser.add_argument("--record", action="store_true", help="rewrite bench/RESULTS.md")
    args = parser.parse_args(argv)
    exit_on_sigterm()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("pika").setLevel(logging.WARNING)
    from control.bulk.apply import CHUNK_SIZE

    args.chunk = CHUNK_SIZE

    channel = f"bench:scale_out:{uuid.uuid4().hex[:8]}"
    with (
        scratch_database("bench_scale") as url,
        tempfile.TemporaryDirectory() as tmp,
        rabbitmq_vhost("bench_scale") as amqp_url,
    ):
        workdir = Path(tmp)
        db = init_database(url)
        try:
            migrate.upgrade(db)
            db.close()
            log.info("seeding %d apps + %d per agent ...", args.apps, args.edge_apps)
            source = seed(args.apps, args.edge_apps, args.seed)
            password = create_bench_user(BENCH_USER, "operator")
            pg_version = postgres_version(url)
        finally:
            if not db.is_closed():
                db.close()
        fleet_queue(amqp_url)
        env = dc_environment(
            {
                "DC_JWT_SECRET": JWT_SECRET,
                "DC_DATABASE_URL": url,
                "DC_LOG_LEVEL": "WARNING",
                "DC_RABBITMQ_URL": amqp_url,
                "DC_BROKER": "rabbitmq",
                "DC_EMBEDDED_BACKGROUND": "false",
                "DC_REDIS_URL": REDIS_URL,
                "DC_EVENTS_CHANNEL": channel,
                "DC_BULK_MAX_APPS": str(max(args.apps, 5000)),
                "DC_AGENT_APPS": AGENT_APPS,
                "DC_AGENT_HEARTBEAT_SECONDS": "2",
                **RATE_LIMITS,
            }
        )
        worker_env = dict(env, **WORKER_ENV)
        agent_env = dict(env, DC_LOG_LEVEL="INFO")  # it says when it consumes
        worker_argv = [*WORKER_ARGV, "--verbose"]
        dcctl = str(VENV_BIN / "dcctl")
        log.info("waiting for the machine-wide benchmark lock ...")
        with (
            machine_lock(args.lock_timeout) as locked,
            gunicorn_web("web-1", env, workdir, args.web_workers) as (url_1, web_1),
            gunicorn_web("web-2", env, workdir, args.web_workers) as (url_2, web_2),
            background("worker-1", worker_argv, worker_env, workdir) as worker_1,
            background("worker-2", worker_argv, worker_env, workdir) as worker_2,
            background("relay", [dcctl, "relay"], env, workdir) as relay,
            background(
                "agent-a",
                [dcctl, "agent", "--group", EDGES[0], "--name", "agent-a"],
                agent_env,
                workdir,
            ) as agent_a,
            background(
                "agent-b",
                [dcctl, "agent", "--group", EDGES[1], "--name", "agent-b"],
                agent_env,
                workdir,
            ) as agent_b,
        ):
            procs = [web_1, web_2, worker_1, worker_2, relay, agent_a, agent_b]
            deadline = time.monotonic() + 60
            while not all("consuming dc.agent." in a.output() for a in (agent_a, agent_b)):
                for proc in procs:
                    proc.check()
                if time.monotonic() > deadline:
                    raise RuntimeError(f"agents not consuming:\n{agent_a.tail()}\n{agent_b.tail()}")
                time.sleep(0.2)
            token = login(url_1, BENCH_USER, password)
            busy_before = busy_cpu_percent()
            load_before = load_average()
            log.info("replicas %s and %s, 2 workers, relay, 2 agents up", url_1, url_2)
            viewers, times = asyncio.run(run([url_1, url_2], token, url, args, procs))
            load_after = load_average()
            connections = {p.name: postgres_connections(p.pid) for p in procs}
            for proc in procs:
                proc.check()
            workers = [worker_1, worker_2]
            taken = [chunks_taken(w, times["fleet_job"]) for w in workers]
            facts = job_facts(url, times["fleet_job"])
            known = known_set(url)
            depth = fleet_queue(amqp_url)
        machine = machine_description(pg_version)

    chunk_table, ws_table, lines = report(workers, taken, facts, depth, viewers, known, times, args)
    lines.append(
        "PostgreSQL connections held at the end of the run (each process's pool): "
        + ", ".join(f"{name} {n}" for name, n in connections.items())
        + f"; {sum(connections.values())} in all"
    )
    print()
    print(chunk_table)
    print()
    print(ws_table)
    print()
    for line in lines:
        print(line)
    print(
        f"CPUs busy before {busy_before:.0f}%; "
        f"load average before {load_before}, after {load_after}"
    )

    if args.record:
        body = "\n".join(
            [
                "## scale_out: 2 web replicas, 2 worker processes, 2 agents; one 10,000-app "
                "bulk job shared by both workers, every event once on both replicas",
                "",
                f"Run {now_utc()} with `bench/scale_out.py --apps {args.apps} --viewers "
                f"{args.viewers}` on code {code_version()}.",
                "",
                "Machine: " + "; ".join(f"{k} {v}" for k, v in machine.items()) + ". "
                f"Other work: {busy_before:.0f}% of the CPUs busy just before; load average "
                f"(1/5/15 min) before {load_before}, after {load_after}"
                + (
                    ""
                    if locked
                    else "; **measured without the machine-wide benchmark lock** "
                    "(another benchmark held it)"
                )
                + ". Every process on this one machine, as if on separate hosts.",
                "",
                f"Parameters: {args.apps:,} START-able apps in the group `{FLEET}` (rows from "
                f"{source}) and {args.edge_apps} quick apps (`tests/agent_apps.py`) in each of "
                f"`{EDGES[0]}` and `{EDGES[1]}`. Two web replicas (`gunicorn -c "
                f"ops/gunicorn.conf.py`, {args.web_workers} uvicorn worker each, two ports), "
                "two separate `dramatiq … --queues bulk maintenance --processes 1 --threads 2 "
                "--verbose` (prefetch 1), one `dcctl relay`, `dcctl agent --group edge_a` and "
                "`--group edge_b`; one PostgreSQL database, one scratch RabbitMQ vhost, events "
                f"on Redis pub/sub. Chunks of {args.chunk} apps. {args.viewers} WebSocket "
                "clients on each replica subscribed to `app.command_sent` and "
                "`runtime.completed`; the bulk START of the fleet posted to replica 1, the "
                "agents' groups to replica 2 and replica 1. Chunks per worker from each "
                "worker's log (Dramatiq's `Received message apply_bulk_job(job, start, stop)`); "
                "the known set of events from the database after the run (every command, "
                "every completed run).",
                "",
                chunk_table,
                "",
                ws_table,
                "",
                *(f"- {line}" for line in lines),
            ]
        )
        write_results_section(NAME, body)
        print(f"\nrecorded in {Path('bench/RESULTS.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
