"""Gunicorn settings for the dashboard (``gunicorn -c ops/gunicorn-dashboard.conf.py
dashboard.server:server``).

One worker process with threads: the signed-in users' API tokens live in that process's
memory (``dashboard/sessions.py``), so a second worker would not know them. Threads serve
the concurrent callbacks (each one waits on the API). Like ``ops/gunicorn.conf.py`` it
reads the ``DC_*`` variables straight from the environment and imports no project code.
The access log has the path only (``%(U)s``), never the query string.
"""

from __future__ import annotations

import os


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


bind = f"{_env('DC_DASHBOARD_HOST', '127.0.0.1')}:{_env('DC_DASHBOARD_PORT', '8050')}"
workers = 1
worker_class = "gthread"
threads = 8
timeout = 60
graceful_timeout = 20
keepalive = 5
accesslog = "-"
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
errorlog = "-"
loglevel = _env("DC_LOG_LEVEL", "INFO").lower()
forwarded_allow_ips = "127.0.0.1"
