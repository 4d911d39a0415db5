"""Gunicorn settings for the Dash dashboard (``gunicorn -c ops/gunicorn-dashboard.conf.py
dashboard.server:server``).

Reads the ``DC_*`` variables straight from the environment (systemd loads them
from ``/etc/data-collector/env``) and imports no project code.

nginx proxies ``/dashboard/`` here without stripping the prefix, so the Dash app
must be built with ``requests_pathname_prefix="/dashboard/"`` (and the same
routes prefix).

The access log uses ``%(U)s`` (path only), never ``%(r)s``/``%(q)s``/``%(f)s``,
so query strings (which may carry tokens) never reach the logs.
"""

from __future__ import annotations

import json
import os

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


def _env_list(name: str, default: list[str]) -> list[str]:
    """A JSON array or a comma-separated list, as the settings module accepts."""
    raw = _env(name, "")
    if not raw:
        return default
    items = json.loads(raw) if raw.startswith("[") else raw.split(",")
    return [str(item).strip() for item in items if str(item).strip()] or default


# ---------------------------------------------------------------- server socket

bind = [f"{_env('DC_DASHBOARD_HOST', '127.0.0.1')}:{_env_int('DC_DASHBOARD_PORT', 8050)}"]
backlog = 512

# ---------------------------------------------------------------- workers
# Dash is plain WSGI (Flask): synchronous workers, one request each, behind nginx.
workers = _env_int("DC_DASHBOARD_WORKERS", 2)
worker_class = "sync"
# Dash callbacks run database queries; allow them time before the master
# declares a worker stuck.
timeout = 60
graceful_timeout = 30
keepalive = 5  # ignored by sync workers; kept for a switch to gthread
max_requests = 2_000
max_requests_jitter = 200

# ---------------------------------------------------------------- request limits
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190

# ---------------------------------------------------------------- proxying
forwarded_allow_ips = ",".join(_env_list("DC_TRUSTED_PROXIES", ["127.0.0.1"]))
proxy_allow_ips = forwarded_allow_ips

# ---------------------------------------------------------------- logging
accesslog = "-"
errorlog = "-"
loglevel = _env("DC_LOG_LEVEL", "info").lower()
# gunicorn does not rewrite REMOTE_ADDR (%(h)s) from X-Forwarded-For; log both.
access_log_format = (
    '%(h)s xff=%({x-forwarded-for}i)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'
    " rid=%({x-request-id}i)s"
)

proc_name = "dc-dashboard"

# ---------------------------------------------------------------- control socket
# See ops/gunicorn.conf.py: one socket per unit, in systemd's RuntimeDirectory=.
_runtime_dir = os.environ.get("RUNTIME_DIRECTORY") or os.environ.get("XDG_RUNTIME_DIR")
control_socket = os.path.join(
    _runtime_dir or os.path.join(os.path.expanduser("~"), ".gunicorn"), f"{proc_name}.ctl"
)
