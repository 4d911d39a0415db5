"""How many requests a ``kill -HUP`` of the API's gunicorn drops (ops/gunicorn.conf.py).

Not a speed benchmark (so not in bench/, whose scripts ``make bench`` runs with
``--record``): it checks the claim in ``dc-web.service`` and docs/operations.md
("Reload"). Starts ``gunicorn -c ops/gunicorn.conf.py control.cli.asgi:app`` over a scratch
SQLite database, keeps ``--clients`` threads sending ``GET /api/v1/system/health`` (each
request on a new connection, or on one keep-alive connection per thread with
``--keepalive``), sends HUP ``--reloads`` times ``--every`` seconds apart, then prints
the requests sent and the failures by kind. Usage::

    .venv/bin/python ops/measure_reload.py --reloads 6 --every 10 [--keepalive] [--baseline]
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.live_server import free_port, migrated_sqlite, server_env  # noqa: E402

HEALTH = "/api/v1/system/health"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reloads", type=int, default=12)
    parser.add_argument("--every", type=float, default=1.5)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keepalive", action="store_true")
    parser.add_argument(
        "--baseline", action="store_true", help="the same run without sending HUP (compare)"
    )
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="reload-hup-"))
    port = free_port()
    env = server_env(
        migrated_sqlite(root / "db.sqlite3"),
        DC_API_PORT=str(port),
        DC_API_WORKERS=str(args.workers),
        DC_RATE_LIMIT_PER_MINUTE="1000000",
        DC_AGENT_EMBEDDED="false",
    )
    gunicorn = Path(sys.executable).with_name("gunicorn")
    with (root / "gunicorn.log").open("wb") as log:
        server = subprocess.Popen(  # noqa: S603 - our own gunicorn and config
            [str(gunicorn), "-c", str(REPO / "ops" / "gunicorn.conf.py"), "control.cli.asgi:app"],
            env=env,
            cwd=root,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + HEALTH, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("gunicorn did not start")
            time.sleep(0.2)
        stop = threading.Event()
        sent = [0] * args.clients
        failures: collections.Counter[str] = collections.Counter()
        lock = threading.Lock()

        def client(n: int) -> None:
            http = httpx.Client(base_url=base, timeout=10) if args.keepalive else None
            while not stop.is_set():
                try:
                    if http is not None:
                        status = http.get(HEALTH).status_code
                    else:
                        status = httpx.get(base + HEALTH, timeout=10).status_code
                    kind = None if status == 200 else f"HTTP {status}"
                except httpx.HTTPError as exc:
                    kind = type(exc).__name__
                sent[n] += 1
                if kind:
                    with lock:
                        failures[kind] += 1

        threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
        for thread in threads:
            thread.start()
        time.sleep(args.every)
        for _ in range(args.reloads):
            if not args.baseline:
                os.kill(server.pid, signal.SIGHUP)
            time.sleep(args.every)
        stop.set()
        for thread in threads:
            thread.join()
        mode = "keep-alive" if args.keepalive else "new connection per request"
        hups = "no HUP (baseline)" if args.baseline else f"{args.reloads} HUPs"
        print(
            f"{hups}, {args.every} s apart, {args.workers} workers, {args.clients} clients "
            f"({mode}): "
            f"{sum(sent)} requests, {sum(failures.values())} failed {dict(failures)}"
        )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=40)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
