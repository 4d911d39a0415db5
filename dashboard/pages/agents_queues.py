"""Agents & queues: the machinery behind the fleet (docs/operations.md, "Agents and
queues"): the fleet's health counts, each agent (online, slots, the apps it runs and
those waiting for a slot), the brokers' queues and the command outbox."""

from __future__ import annotations

from typing import Any

from dash import html

from dashboard.pages.grids import grid

AGENT_COLUMNS: list[dict[str, Any]] = [
    {"field": "name", "headerName": "Agent", "minWidth": 170, "tooltipField": "name"},
    {"field": "state", "headerName": "State", "minWidth": 90, "cellRenderer": "AgentState"},
    {"field": "host", "headerName": "Host", "minWidth": 100, "tooltipField": "host"},
    {"field": "groups", "headerName": "Groups", "minWidth": 90, "tooltipField": "groups"},
    {"field": "slots", "headerName": "Slots busy", "minWidth": 90},
    {
        "field": "running",
        "headerName": "Running",
        "minWidth": 140,
        "flex": 2,
        "tooltipField": "running",
    },
    {
        "field": "queued",
        "headerName": "Waiting",
        "headerTooltip": "Apps waiting for a free slot of the agent (SCHEDULED)",
        "minWidth": 120,
        "flex": 2,
        "tooltipField": "queued",
    },
    {"field": "seen_ago", "headerName": "Last seen", "minWidth": 90, "tooltipField": "last_seen"},
    {"field": "version", "headerName": "Version", "minWidth": 80},
]
QUEUE_COLUMNS: list[dict[str, Any]] = [
    {"field": "name", "headerName": "Queue", "minWidth": 180, "tooltipField": "name"},
    {"field": "kind", "headerName": "Kind", "minWidth": 100},
    {"field": "messages", "headerName": "Messages", "minWidth": 90},
    {"field": "consumers", "headerName": "Consumers", "minWidth": 96},
    {"field": "ready", "headerName": "Ready", "minWidth": 80},
    {"field": "unacked", "headerName": "Unacked", "minWidth": 86},
    {"field": "rates", "headerName": "Rates", "minWidth": 140},
    {"field": "exists", "headerName": "Declared", "minWidth": 100},
]

# small client-side tables: sorting yes, column filters no (their icons cost the width)
for _column in AGENT_COLUMNS + QUEUE_COLUMNS:
    _column["filter"] = False


def layout() -> html.Div:
    return html.Div(
        [
            html.H2("Agents & queues", id="page-title"),
            html.Div(id="system-error", className="error", role="alert"),
            html.H3("Fleet health"),
            html.Div(id="fleet-health", className="health-tiles"),
            html.H3("Agents"),
            html.Div(id="agents-summary", className="muted"),
            grid(
                "agents-grid",
                AGENT_COLUMNS,
                height="210px",
                getRowId="params.data.name",
                dashGridOptions={"tooltipShowDelay": 300},
            ),
            html.H3("Queues"),
            html.Div(id="queues-summary", className="muted"),
            html.Div(id="outbox-summary", className="outbox-summary"),
            # hidden while there is no queue to show (in process only the outbox exists)
            html.Div(
                grid("queues-grid", QUEUE_COLUMNS, height="300px", getRowId="params.data.name"),
                id="queues-box",
            ),
        ]
    )
