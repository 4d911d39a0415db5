"""Admin · Notifications: the channels (list, create, edit, test send) and the delivery
history, of the selected channel or of all."""

from __future__ import annotations

from typing import Any

from dash import dcc, html

from dashboard.pages.grids import grid

CHANNEL_COLUMNS: list[dict[str, Any]] = [
    {"field": "id", "headerName": "Id", "maxWidth": 80},
    {"field": "name", "headerName": "Name", "minWidth": 150, "tooltipField": "name"},
    {"field": "type", "headerName": "Type", "maxWidth": 120},
    {"field": "target", "headerName": "Target", "minWidth": 200, "tooltipField": "target"},
    {"field": "events_text", "headerName": "Events", "minWidth": 200},
    {"field": "min_severity", "headerName": "Min severity", "maxWidth": 140},
    {"field": "enabled", "headerName": "Enabled", "maxWidth": 110},
]
DELIVERY_COLUMNS: list[dict[str, Any]] = [
    {"field": "created", "headerName": "Queued", "minWidth": 170},
    {"field": "channel", "headerName": "Channel", "minWidth": 150},
    {"field": "event", "headerName": "Event"},
    {"field": "status", "headerName": "Status", "maxWidth": 110},
    {"field": "attempts", "headerName": "Attempts", "maxWidth": 110},
    {"field": "latency_ms", "headerName": "Latency ms", "maxWidth": 130},
    {"field": "last_error", "headerName": "Last error", "minWidth": 200},
    {"field": "title", "headerName": "Title", "minWidth": 160},
]
TYPES = ["webhook", "telegram", "email"]
EVENTS = ["app.fatal", "runtime.failed", "pipeline.error_rate", "command.failed", "app.health"]
SEVERITIES = ["info", "warning", "error", "critical"]
CONFIG_PLACEHOLDER = (
    'webhook: {"url": "https://…", "secret": "16+ characters"}\n'
    'telegram: {"bot_token": "…", "chat_id": "…"}\n'
    'email: {"host", "port", "username", "password", "from", "to": […], "security"}'
)


def _field(label: str, control: Any) -> html.Div:
    """A labelled control; the label names the control by id (a radio group inside a
    <label> would label every radio with the group's text)."""
    return html.Div(
        [html.Label(label, htmlFor=control.id, className="form-label"), control],
        className="form-field",
    )


def form() -> html.Div:
    return html.Div(
        className="channel-form card",
        children=[
            html.H3("Channel", id="channel-form-title"),
            _field("Name", dcc.Input(id="channel-name", type="text", maxLength=100)),
            _field(
                "Type",
                dcc.RadioItems(
                    id="channel-type",
                    options=[{"label": t, "value": t} for t in TYPES],
                    value="webhook",
                    inline=True,
                ),
            ),
            _field(
                "Config (JSON; secrets are write-only: leave them out to keep them)",
                dcc.Textarea(
                    id="channel-config", placeholder=CONFIG_PLACEHOLDER, rows=4, spellCheck=False
                ),
            ),
            _field(
                "Events",
                dcc.Checklist(
                    id="channel-events",
                    options=[{"label": e, "value": e} for e in EVENTS],
                    value=list(EVENTS),
                    inline=True,
                ),
            ),
            _field(
                "Minimum severity",
                dcc.RadioItems(
                    id="channel-severity",
                    options=[{"label": s, "value": s} for s in SEVERITIES],
                    value="warning",
                    inline=True,
                ),
            ),
            dcc.Checklist(
                id="channel-enabled",
                options=[{"label": "Enabled", "value": "on"}],
                value=["on"],
            ),
            html.Div(
                className="form-buttons",
                children=[
                    html.Button("Create", id="channel-create", type="button"),
                    html.Button("Save changes", id="channel-save", type="button"),
                    html.Button("Test send", id="channel-test", type="button"),
                    html.Button("New", id="channel-clear", type="button"),
                ],
            ),
            html.Div(id="channel-status", className="action-status", role="status"),
        ],
    )


def layout() -> html.Div:
    return html.Div(
        [
            html.H2("Notification channels", id="page-title"),
            dcc.Store(id="channels-version", data=0),
            html.Div(id="channels-error", className="error", role="alert"),
            html.Div(
                className="admin-split",
                children=[
                    html.Div(
                        [
                            html.P(
                                "Select a channel to edit it, test it or see its deliveries.",
                                className="muted",
                            ),
                            grid(
                                "channels-grid",
                                CHANNEL_COLUMNS,
                                height="260px",
                                getRowId="params.data.row_id",
                                dashGridOptions={"rowSelection": "single"},
                            ),
                        ],
                        className="admin-main",
                    ),
                    form(),
                ],
            ),
            html.H3("Delivery history", id="deliveries-title"),
            grid("deliveries-grid", DELIVERY_COLUMNS, height="300px"),
        ]
    )
