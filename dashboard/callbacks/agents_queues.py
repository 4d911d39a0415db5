"""Agents & queues: the fleet's health counts, the agents and the queues, refreshed with
the page's tick (each a small request: ``/health/fleet``, ``/system/agents``,
``/system/queues``). A part that cannot be read says so; the others still show."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output

from dashboard.api_client import ApiError
from dashboard.callbacks.session import needs_session
from dashboard.health_views import agent_row, fleet_tiles, outbox_text, queue_row
from dashboard.sessions import current_client


def agents_summary(agents: list[dict[str, Any]]) -> str:
    online = sum(1 for a in agents if a.get("online"))
    waiting = sum(len(a.get("queued") or []) for a in agents)
    if not agents:
        return "No agent has reported yet."
    text = f"{online} of {len(agents)} agent{'s' if len(agents) != 1 else ''} online"
    return text + (
        f", {waiting} app{'s' if waiting != 1 else ''} waiting for a slot." if waiting else "."
    )


def queues_summary(report: dict[str, Any]) -> str:
    sources = [
        f"{part} from {source}"
        for part, source in (
            ("Dramatiq queues", report.get("dramatiq_source")),
            ("command queues", report.get("commands_source")),
        )
        if source
    ]
    text = f"Broker: {report.get('broker') or 'unknown'}"
    if not report.get("queues") and not report.get("errors"):
        return text + ": no broker queue to read (in process, only the outbox below)."
    if sources:
        text += "; " + ", ".join(sources)
    errors = report.get("errors") or []
    if errors:
        parts = ", ".join(f"{e.get('part')} ({e.get('error')})" for e in errors)
        text += f". Could not read: {parts}"
    return text + "."


def register(app: dash.Dash) -> None:
    @app.callback(
        Output("fleet-health", "children"),
        Output("agents-grid", "rowData"),
        Output("agents-summary", "children"),
        Output("queues-grid", "rowData"),
        Output("queues-box", "className"),
        Output("queues-summary", "children"),
        Output("outbox-summary", "children"),
        Output("system-error", "children"),
        Input("fleet-health", "id"),  # only on this page
        Input("tick", "n_intervals"),
    )
    @needs_session
    def _system(_: str | None, __: int | None) -> tuple[Any, ...]:
        client = current_client()
        errors: list[str] = []
        tiles: list[Any] = []
        agents: list[dict[str, Any]] | None = None
        queues: dict[str, Any] | None = None
        try:
            tiles = fleet_tiles(client.fleet_health())
        except ApiError as exc:
            errors.append(f"Could not load the fleet's health: {exc.message}")
        try:
            agents = client.agents()
        except ApiError as exc:
            errors.append(f"Could not load the agents: {exc.message}")
        try:
            queues = client.queues()
        except ApiError as exc:
            errors.append(f"Could not load the queues: {exc.message}")
        rows = [queue_row(q) for q in (queues or {}).get("queues") or []]
        return (
            tiles,
            [agent_row(a) for a in agents or []],
            agents_summary(agents) if agents is not None else "",
            rows,
            "" if rows else "hidden",
            queues_summary(queues) if queues is not None else "",
            outbox_text(queues.get("outbox") or {}) if queues is not None else "",
            " ".join(errors),
        )
