"""``dcctl dashboard``: the Dash dashboard on Werkzeug's threaded server (development and
the demo). Production runs ``gunicorn --workers 1 --threads 8 dashboard.server:server``."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from types import FrameType

import click

from control.cli.context import settings
from control.log_context import configure_logging

log = logging.getLogger("dcctl.dashboard")


def _watch_parent(parent: int) -> None:
    """Exit when the process that started us is gone (``dcctl serve --with-dashboard``)."""
    while True:
        if os.getppid() != parent:
            log.info("parent process %s gone; stopping the dashboard", parent)
            os._exit(0)
        time.sleep(1)


@click.command()
@click.option("--host", default=None, help="Bind address (default DC_DASHBOARD_HOST).")
@click.option("--port", default=None, type=int, help="Port (default DC_DASHBOARD_PORT).")
@click.option("--parent-pid", default=None, type=int, hidden=True)
def dashboard(host: str | None, port: int | None, parent_pid: int | None) -> None:
    """Serve the dashboard (it calls the API at DC_DASHBOARD_API_URL); stops on SIGTERM."""
    from werkzeug.serving import make_server

    conf = settings()
    configure_logging(conf.log_level, conf.access_log_level)
    from dashboard.server import server as app

    bind_host, bind_port = host or conf.dashboard_host, port or conf.dashboard_port
    httpd = make_server(bind_host, bind_port, app, threaded=True)

    def _stop(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    if parent_pid is not None:
        threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()
    log.info(
        "dashboard on http://%s:%s/dashboard/ (API %s)",
        bind_host,
        bind_port,
        conf.dashboard_api_url,
    )
    httpd.serve_forever()
    log.info("dashboard stopped")
