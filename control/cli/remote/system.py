"""``dcctl health`` and ``dcctl notify``: the API's health, a test notification."""

from __future__ import annotations

from typing import Any

import click

from control.cli.remote.connection import NOT_FOUND, SERVER, Remote, fail, remote_options
from control.cli.remote.output import Mode, emit_one, output_options


@click.command()
@click.option("--detailed", is_flag=True, help="Every part's state (needs credentials).")
@output_options(lists=False)
@remote_options(anonymous_ok=True)
def health(remote: Remote, detailed: bool, mode: Mode) -> None:
    """Remote: is the API healthy? Exit 5 when not. Without credentials only the
    overall status; with them (or --detailed), every part's."""
    healthy, report = remote.client.health(detailed)
    emit_one(mode, report, _fields(report))
    if not healthy:
        raise SystemExit(SERVER)


def _fields(report: dict[str, Any]) -> list[tuple[str, str]]:
    """Top-level values, then one line per checked part (``checks.<part>.status``)."""
    fields = [(key, key) for key, value in report.items() if not isinstance(value, dict)]
    for part, value in (report.get("checks") or {}).items():
        if isinstance(value, dict) and "status" in value:
            fields.append((part, f"checks.{part}.status"))
            if "latency_ms" in value:
                fields.append((f"{part} latency ms", f"checks.{part}.latency_ms"))
        elif not isinstance(value, dict):
            fields.append((part, f"checks.{part}"))
    return fields


@click.group()
def notify() -> None:
    """Remote: notification channels (admins; see 'dcctl login')."""


@notify.command("test")
@click.argument("channel")
@output_options(lists=False)
@remote_options()
def test(remote: Remote, channel: str, mode: Mode) -> None:
    """Queue a test message through CHANNEL (its id or name)."""
    api = remote.client
    channel_id: str | int = channel
    if not channel.isdigit():
        found = [row["id"] for row in api.channels() if row.get("name") == channel]
        if not found:
            fail(f"no notification channel named {channel!r}", NOT_FOUND)
        channel_id = found[0]
    delivery = api.notify_test(channel_id)
    if mode == "table":
        click.echo(f"test notification {delivery.get('id')} queued through channel {channel}")
    else:
        emit_one(mode, delivery, [])
