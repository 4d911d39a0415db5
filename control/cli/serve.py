"""``dcctl serve``: the embedded default, everything in one process."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator

import click
import uvicorn

from control.cli.context import bind_migrated_database, settings


class _Server(uvicorn.Server):
    """uvicorn re-raises the signal that stopped it; a requested stop should exit 0."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            yield
            self._captured_signals.clear()


@contextlib.contextmanager
def _dashboard_child(enabled: bool) -> Iterator[subprocess.Popen[bytes] | None]:
    """``dcctl dashboard`` as a child process for as long as the API runs."""
    if not enabled:
        yield None
        return
    child = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "control.cli", "dashboard", "--parent-pid", str(os.getpid())],
        stdin=subprocess.DEVNULL,
    )
    try:
        yield child
    finally:
        if child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


@click.command()
@click.option("--host", default=None, help="Bind address (default DC_API_HOST).")
@click.option("--port", default=None, type=int, help="Port (default DC_API_PORT).")
@click.option(
    "--with-dashboard",
    is_flag=True,
    help="Also run the dashboard (dcctl dashboard) as a child process, "
    "unless DC_DASHBOARD_ENABLED is false.",
)
def serve(host: str | None, port: int | None, with_dashboard: bool) -> None:
    """Serve the API with the in-process parts; stops cleanly on SIGTERM."""
    from control.cli.webapp import build_app  # here: the API's imports cost start-up time

    conf = settings()
    bind_migrated_database()
    config = uvicorn.Config(
        build_app(conf),
        host=host or conf.api_host,
        port=port or conf.api_port,
        log_config=None,
        access_log=False,
        proxy_headers=False,
        lifespan="on",
        timeout_graceful_shutdown=10,
    )
    with _dashboard_child(with_dashboard and conf.dashboard_enabled):
        _Server(config).run()
