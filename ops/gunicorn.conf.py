"""Gunicorn settings for the API (``gunicorn -c ops/gunicorn.conf.py control.cli.asgi:app``).

Reads the ``DC_*`` variables straight from the environment (systemd loads them
from ``/etc/data-collector/env``); it deliberately imports no project code so a
broken settings module cannot stop gunicorn from reporting the real error.

Tokens must never reach the logs. Two loggers can see a URL:

* gunicorn's own access log: the format below uses ``%(U)s`` (path only), never
  ``%(r)s`` (request line with query string), ``%(q)s``, ``%(f)s`` (referer) or
  ``%(u)s`` (basic-auth user).
* uvicorn's loggers: under ``uvicorn_worker.UvicornWorker`` the access lines are
  written by uvicorn (``uvicorn.access``), not by gunicorn, and uvicorn logs the
  path *with* the query string (also in its WebSocket "accepted"/"rejected" info
  lines on ``uvicorn.error``). ``post_worker_init`` below installs a filter that
  cuts the query string off before anything is written.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile

# ---------------------------------------------------------------- helpers


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def _env_int(name: str, default: int) -> int:
    raw = _env(name, str(default))
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"{name}: not an integer: {raw!r}") from None


# ---------------------------------------------------------------- server socket

bind = [f"{_env('DC_API_HOST', '127.0.0.1')}:{_env_int('DC_API_PORT', 8000)}"]
backlog = 2048

# ---------------------------------------------------------------- workers

workers = _env_int("DC_API_WORKERS", 4)
worker_class = "uvicorn_worker.UvicornWorker"
# Seconds a silent worker may go before the master restarts it.
timeout = 60
# SIGTERM: finish in-flight requests for up to this long, then stop.
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then to bound slow memory growth; jitter avoids
# restarting them all at once.
max_requests = 10_000
max_requests_jitter = 1_000

# ---------------------------------------------------------------- request limits
# Enforced by gunicorn's own HTTP parser (sync/gthread workers). With the
# uvicorn worker uvicorn parses requests itself, so nginx's
# large_client_header_buffers / client_max_body_size are the effective bound.
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190

# ---------------------------------------------------------------- proxying
# Trust no proxy here: uvicorn would otherwise rewrite the client address from
# X-Forwarded-For (for its default 127.0.0.1 even when DC_TRUSTED_PROXIES is empty)
# before the app looks at it. One place decides which proxies are believed: the app,
# with DC_TRUSTED_PROXIES (web/client_ip.py), on the untouched peer address.
forwarded_allow_ips = ""
proxy_allow_ips = ""

# ---------------------------------------------------------------- logging
# Both go to stdout/stderr, which systemd sends to the journal.
accesslog = "-"
errorlog = "-"
loglevel = _env("DC_LOG_LEVEL", "info").lower()
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms rid=%({x-request-id}i)s'

proc_name = "dc-web"

# ---------------------------------------------------------------- control socket
# gunicorn >= 25.1 opens an admin socket for `gunicornc`; by default it lives in
# ~/.gunicorn/gunicorn.ctl, which is read-only under ProtectSystem=strict and is
# shared with the dashboard's gunicorn. systemd's RuntimeDirectory= gives each
# unit its own directory (exported as $RUNTIME_DIRECTORY).
_runtime_dir = os.environ.get("RUNTIME_DIRECTORY") or os.environ.get("XDG_RUNTIME_DIR")
control_socket = os.path.join(
    _runtime_dir or os.path.join(os.path.expanduser("~"), ".gunicorn"), f"{proc_name}.ctl"
)


# ---------------------------------------------------------------- metrics
# Each worker counts its own requests; for /metrics to show the sum over all workers
# (and not whichever worker answered the scrape), prometheus_client's multiprocess
# mode keeps the counters in files in PROMETHEUS_MULTIPROC_DIR. The directory must be
# empty at each start: under systemd it is $RUNTIME_DIRECTORY/metrics (systemd empties
# the runtime directory when the unit stops); elsewhere a fresh temporary directory,
# unless PROMETHEUS_MULTIPROC_DIR is set (then its *.db files are removed at start).
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def _metrics_dir() -> str:
    chosen = os.environ.get(MULTIPROC_ENV, "").strip()
    if chosen:
        os.makedirs(chosen, mode=0o750, exist_ok=True)
        for name in os.listdir(chosen):
            if name.endswith(".db"):
                os.unlink(os.path.join(chosen, name))
        return chosen
    runtime = os.environ.get("RUNTIME_DIRECTORY")
    if runtime:
        path = os.path.join(runtime.split(":")[0], "metrics")
        shutil.rmtree(path, ignore_errors=True)
        os.makedirs(path, mode=0o750)
        return path
    return tempfile.mkdtemp(prefix="dc-web-metrics-")


def on_starting(server: object) -> None:
    """Once per master start (not on HUP: the counters survive a reload), before the
    first worker is forked, so every worker inherits the variable."""
    os.environ[MULTIPROC_ENV] = _metrics_dir()


def on_exit(server: object) -> None:
    """Remove the metrics directory this config made up in the temporary directory
    (one chosen by the operator, or systemd's runtime directory, is left alone)."""
    path = os.environ.get(MULTIPROC_ENV, "")
    name = os.path.basename(path)
    if name.startswith("dc-web-metrics-") and os.path.dirname(path) == tempfile.gettempdir():
        shutil.rmtree(path, ignore_errors=True)


def child_exit(server: object, worker: object) -> None:
    """In the master after a worker exited: drop its live-gauge files (its counters stay
    in the sum, so a recycled worker does not look like a counter reset)."""
    from prometheus_client import multiprocess

    pid = getattr(worker, "pid", None)
    if pid is not None and os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(pid)


# ---------------------------------------------------------------- hooks


class RedactQueryString(logging.Filter):
    """Cut the query string off the URL arguments of uvicorn's log records.

    uvicorn passes the request target as a separate ``%s`` argument that starts
    with ``/`` (``"GET /api/v1/x?token=..." 200``, ``"WebSocket /api/v1/ws/?token=..."``).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and args:
            record.args = tuple(
                arg.split("?", 1)[0] if isinstance(arg, str) and arg.startswith("/") else arg
                for arg in args
            )
        return True


def post_worker_init(worker: object) -> None:
    """Runs in each worker after uvicorn has wired its loggers to gunicorn's."""
    redact = RedactQueryString()
    for name in ("uvicorn.access", "uvicorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactQueryString) for f in logger.filters):
            logger.addFilter(redact)
