"""``dcctl serve``: the embedded default, everything in one process."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import click
import uvicorn

from control.cli.context import bind_database, settings
from control.db import migrate


class _Server(uvicorn.Server):
    """uvicorn re-raises the signal that stopped it; a requested stop should exit 0."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            yield
            self._captured_signals.clear()


@click.command()
@click.option("--host", default=None, help="Bind address (default DC_API_HOST).")
@click.option("--port", default=None, type=int, help="Port (default DC_API_PORT).")
def serve(host: str | None, port: int | None) -> None:
    """Serve the API with the in-process parts; stops cleanly on SIGTERM."""
    conf = settings()
    db = bind_database()
    waiting = migrate.pending(db)
    db.close()
    if waiting:
        raise click.ClickException(
            f"{len(waiting)} migration(s) pending ({', '.join(waiting)}); run 'dcctl db upgrade'"
        )
    config = uvicorn.Config(
        "web.asgi:app",  # by name: control/ never imports web/
        host=host or conf.api_host,
        port=port or conf.api_port,
        log_config=None,
        access_log=False,
        proxy_headers=False,
        lifespan="on",
        timeout_graceful_shutdown=10,
    )
    _Server(config).run()
