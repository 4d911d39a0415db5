"""Admin · Activity: the audit feed (``GET /activity``), newest first, with its filters."""

from __future__ import annotations

from typing import Any

from dash import dcc, html

from dashboard.pages.grids import grid

ACTIVITY_COLUMNS: list[dict[str, Any]] = [
    {"field": "at", "headerName": "At", "minWidth": 170},
    {"field": "actor", "headerName": "Actor", "minWidth": 180},
    {"field": "role", "headerName": "Role", "maxWidth": 110},
    {"field": "action", "headerName": "Action", "minWidth": 160},
    {"field": "method", "headerName": "Method", "maxWidth": 100},
    {"field": "endpoint", "headerName": "Endpoint", "minWidth": 200},
    {"field": "status", "headerName": "Status", "maxWidth": 100},
    {"field": "outcome", "headerName": "Outcome", "maxWidth": 120},
    {"field": "ip", "headerName": "Address", "maxWidth": 140},
]
OUTCOMES = ["", "success", "denied", "failed", "error"]


def _filter(label: str, control: Any) -> html.Div:
    return html.Div(
        [html.Label(label, htmlFor=control.id, className="form-label"), control],
        className="form-field",
    )


def layout() -> html.Div:
    return html.Div(
        [
            html.H2("Activity", id="page-title"),
            html.Div(
                className="filters",
                children=[
                    _filter(
                        "Actor",
                        dcc.Input(
                            id="activity-actor", placeholder="email", type="text", debounce=True
                        ),
                    ),
                    _filter(
                        "Action",
                        dcc.Input(
                            id="activity-action", placeholder="apps.*", type="text", debounce=True
                        ),
                    ),
                    _filter(
                        "Outcome",
                        dcc.Dropdown(
                            id="activity-outcome",
                            options=[{"label": o or "any", "value": o} for o in OUTCOMES],
                            value="",
                            clearable=False,
                            className="outcome-dropdown",
                        ),
                    ),
                    _filter(
                        "From (UTC)",
                        dcc.Input(
                            id="activity-from",
                            placeholder="2025-01-15T08:00",
                            type="text",
                            debounce=True,
                        ),
                    ),
                    _filter(
                        "To (UTC)",
                        dcc.Input(
                            id="activity-to",
                            placeholder="2025-01-15T18:00",
                            type="text",
                            debounce=True,
                        ),
                    ),
                ],
            ),
            html.Div(id="activity-error", className="error", role="alert"),
            html.P(id="activity-count", className="muted"),
            grid("activity-grid", ACTIVITY_COLUMNS, height="62vh"),
        ]
    )
