"""How remote commands print: rich tables for people, JSON or NDJSON for scripts.

Colour only when stdout is a terminal (rich decides; ``NO_COLOR`` is honoured). When
stdout is a pipe or file, lines are not cut to a terminal's width.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal

import click
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

Mode = Literal["table", "json", "ndjson"]
PIPE_WIDTH = 1000  # a file or pipe has no width: never wrap a row there

# Values worth a colour at a glance; anything else is printed plain.
STYLES = {
    "RUNNING": "cyan",
    "COMPLETED": "green",
    "FAILED": "bold red",
    "FATAL": "bold red",
    "STOPPED": "yellow",
    "STOPPING": "yellow",
    "SCHEDULED": "blue",
    "applied": "green",
    "skipped": "yellow",
    "failed": "bold red",
    "completed": "green",
    "healthy": "green",
    "unhealthy": "bold red",
    "up": "green",
    "down": "bold red",
    "DEBUG": "dim",
    "WARNING": "yellow",
    "ERROR": "red",
    "CRITICAL": "bold red",
}


def console(err: bool = False) -> Console:
    stream = sys.stderr if err else sys.stdout
    width = None if stream.isatty() else PIPE_WIDTH
    return Console(file=stream, width=width, highlight=False, soft_wrap=False)


def output_options(lists: bool = True) -> Callable[[Any], Any]:
    """``--json`` (and ``--ndjson`` for lists) as one ``mode`` argument."""

    def decorate(fn: Any) -> Any:
        fn = click.option("--json", "mode", flag_value="json", help="One JSON document on stdout.")(
            fn
        )
        if lists:
            fn = click.option(
                "--ndjson", "mode", flag_value="ndjson", help="One JSON object a line."
            )(fn)
        return click.option("--table", "mode", flag_value="table", default=True, hidden=True)(fn)

    return decorate


def print_table(table: Table) -> None:
    """On a terminal, as rich draws it; elsewhere without the cells' trailing padding
    (a file or pipe gets lines a script can split)."""
    out = console()
    if out.is_terminal:
        out.print(table)
        return
    with out.capture() as captured:
        out.print(table)
    for text in captured.get().splitlines():
        click.echo(text.rstrip())


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def styled(value: Any) -> Text:
    text = "" if value is None else str(value)
    return Text(text, style=STYLES.get(text, ""))


def cell(row: Mapping[str, Any], key: str) -> Any:
    """``a.b`` reads a nested field."""
    value: Any = row
    for part in key.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def emit_rows(
    mode: Mode,
    rows: Iterable[Mapping[str, Any]],
    columns: Sequence[tuple[str, str]],
    *,
    empty: str = "nothing found",
) -> int:
    """Print a list: a table of ``columns`` (header, field), or JSON; the row count."""
    if mode == "ndjson":
        count = 0
        for row in rows:
            click.echo(dumps(row))
            count += 1
        return count
    items = list(rows)
    if mode == "json":
        click.echo(dumps(items))
        return len(items)
    if not items:
        click.echo(empty, err=True)
        return 0
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    for header, _ in columns:
        table.add_column(header, overflow="fold")
    for row in items:
        table.add_row(*(styled(cell(row, key)) for _, key in columns))
    print_table(table)
    return len(items)


def emit_one(mode: Mode, item: Mapping[str, Any], fields: Sequence[tuple[str, str]]) -> None:
    """Print one object: ``field  value`` lines, or JSON."""
    if mode != "table":
        click.echo(dumps(item))
        return
    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for label, key in fields:
        value = cell(item, key)
        table.add_row(label, value if isinstance(value, Text) else styled(_plain(value)))
    print_table(table)


def _plain(value: Any) -> Any:
    if isinstance(value, dict | list):
        return dumps(value)
    return value
