"""``dcctl logs``: query stored logs, follow the live feed, export a file."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Iterable
from typing import Any, Literal, TextIO

import click

from control.cli.remote.connection import USAGE, Remote, fail, remote_options
from control.cli.remote.output import Mode, dumps, output_options
from dcclient import Client

LEVEL_COLOURS = {"DEBUG": "bright_black", "WARNING": "yellow", "ERROR": "red", "CRITICAL": "red"}
MAX_BACKFILL = 500  # the feed's own bound


@click.group()
def logs() -> None:
    """Remote: the fleet's log records (see 'dcctl login')."""


def _filters(fn: Any) -> Any:
    for option in reversed(
        [
            click.option("--app", metavar="GLOB", help="App id or glob (scraper_*)."),
            click.option("--level", metavar="LEVEL", help="Minimum level (WARNING or 30)."),
            click.option("--from", "since", metavar="TIME", help="From (ISO 8601, UTC)."),
            click.option("--to", "until", metavar="TIME", help="Until (ISO 8601, UTC)."),
            click.option("--search", metavar="TEXT", help="Full-text search in messages."),
            click.option("--runtime", metavar="ID", help="One run's records."),
        ]
    ):
        fn = option(fn)
    return fn


def line(entry: dict[str, Any], colour: bool) -> str:
    """``timestamp LEVEL app message``, the level coloured on a terminal."""
    level = str(entry.get("level", ""))
    shown = f"{level:<8}"
    if colour and level in LEVEL_COLOURS:
        shown = click.style(shown, fg=LEVEL_COLOURS[level])
    return f"{entry.get('timestamp')} {shown} {entry.get('app')}  {entry.get('message')}"


def _emit(entries: Iterable[dict[str, Any]], mode: Mode, out: TextIO) -> None:
    colour = out.isatty()
    if mode == "json":
        click.echo(dumps(list(entries)))
        return
    for entry in entries:
        click.echo(dumps(entry) if mode == "ndjson" else line(entry, colour))


@logs.command("query")
@_filters
@click.option(
    "--limit",
    type=click.IntRange(1, 100_000),
    default=100,
    show_default=True,
    help="Records shown (with --follow: the backfill, at most 500).",
)
@click.option("--follow", "-f", is_flag=True, help="Then follow new records live (Ctrl-C ends).")
@output_options()
@remote_options()
def query(
    remote: Remote,
    app: str | None,
    level: str | None,
    since: str | None,
    until: str | None,
    search: str | None,
    runtime: str | None,
    limit: int,
    follow: bool,
    mode: Mode,
) -> None:
    """Records matching every filter given, newest first; with --follow, the latest
    --limit records oldest first, then new ones as they are stored."""
    if follow:
        if since or until or search or runtime:
            fail("--follow takes --app and --level only (the live feed's filters)", USAGE)
        if mode == "json":
            fail("--follow writes a stream: use --ndjson", USAGE)
        _follow(remote.client, app, level, min(limit, MAX_BACKFILL), mode)
        return
    filters = {"app": app, "level": level, "from": since, "to": until, "search": search}
    rows = remote.client.logs(limit=min(limit, 1000), runtime=runtime, **filters)
    _emit((r for _, r in zip(range(limit), rows, strict=False)), mode, sys.stdout)


def _follow(api: Client, app: str | None, level: str | None, backfill: int, mode: Mode) -> None:
    """Print entries until Ctrl-C or SIGTERM (exit 0) or the feed fails (its exit code)."""
    # imported here: only --follow needs the WebSocket library, every dcctl start pays for it
    from dcclient.live import follow_logs

    async def main() -> None:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        colour = sys.stdout.isatty()

        def live(subscription: dict[str, Any]) -> None:
            click.echo("following live logs; Ctrl-C to stop", err=True)

        feed = follow_logs(api, app=app, level=level, backfill=backfill, on_subscribed=live)
        with contextlib.suppress(asyncio.CancelledError):
            async for entry in feed:
                click.echo(dumps(entry) if mode == "ndjson" else line(entry, colour))

    asyncio.run(main())


@logs.command("export")
@_filters
@click.option("--format", "fmt", type=click.Choice(["ndjson", "csv"]), default="ndjson")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many records.")
@click.option(
    "--output", "-o", type=click.File("w", encoding="utf-8"), default="-", help="File (- stdout)."
)
@remote_options()
def export(
    remote: Remote,
    app: str | None,
    level: str | None,
    since: str | None,
    until: str | None,
    search: str | None,
    runtime: str | None,
    fmt: Literal["ndjson", "csv"],  # click.Choice allows nothing else
    limit: int | None,
    output: TextIO,
) -> None:
    """Download matching records as NDJSON or CSV."""
    filters = {"app": app, "level": level, "from": since, "to": until, "search": search}
    for text in remote.client.logs_export(fmt, runtime=runtime, limit=limit, **filters):
        output.write(text + "\n")
