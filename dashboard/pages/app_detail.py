"""App Detail: the app's own actions (by role), its fields, the schedule and settings
editor (admins), beside tabs of logs (a run picker, level, search), run history and
performance."""

from __future__ import annotations

from typing import Any

from dash import dcc, html

from dashboard import paths
from dashboard.charts import graph
from dashboard.pages.grids import grid

# The spec's log columns, for application logs and FunctionLog rows alike.
LOG_COLUMNS: list[dict[str, Any]] = [
    {"field": "date", "headerName": "Log date", "minWidth": 92, "maxWidth": 100},
    {"field": "level", "headerName": "Level", "minWidth": 70, "maxWidth": 86},
    {"field": "module", "headerName": "Module", "minWidth": 80, "tooltipField": "module"},
    {"field": "function", "headerName": "Function", "minWidth": 80, "tooltipField": "function"},
    # the time a core call took (FunctionLog's runtime): none for a log line
    {"field": "runtime", "headerName": "Core runtime", "minWidth": 100, "cellRenderer": "Seconds"},
    {
        "field": "message",
        "headerName": "Message",
        "minWidth": 200,
        "flex": 3,
        "tooltipField": "message",
    },
    {
        "field": "timestamp",
        "headerName": "Timestamp",
        "minWidth": 120,
        "maxWidth": 130,
        "tooltipField": "timestamp_utc",
    },
]
FUNCTION_COLUMNS: list[dict[str, Any]] = [
    {"field": "date", "headerName": "Log date", "minWidth": 96, "maxWidth": 110},
    {"field": "module", "headerName": "Module", "minWidth": 80, "tooltipField": "module"},
    {"field": "function", "headerName": "Function", "minWidth": 90, "tooltipField": "function"},
    {"field": "runtime", "headerName": "Core runtime", "minWidth": 100, "cellRenderer": "Seconds"},
    {"field": "message", "headerName": "Message", "minWidth": 200, "flex": 3},
    {
        "field": "timestamp",
        "headerName": "Timestamp",
        "minWidth": 120,
        "maxWidth": 130,
        "tooltipField": "timestamp_utc",
    },
]
# the Logs tab filters through the API (run, level, search), not per column
for _column in LOG_COLUMNS + FUNCTION_COLUMNS:
    _column["filter"] = False
HISTORY_COLUMNS: list[dict[str, Any]] = [
    {"field": "started", "headerName": "Started", "minWidth": 150, "sort": "desc"},
    {"field": "ended", "headerName": "Ended", "minWidth": 150},
    {"field": "duration", "headerName": "Duration"},
    {"field": "status", "headerName": "Status", "cellRenderer": "StatusBadge"},
    {"field": "trigger", "headerName": "Trigger"},
    {"field": "total", "headerName": "Records"},
    {"field": "solved", "headerName": "Solved"},
    {"field": "failed", "headerName": "Failed"},
    {"field": "error", "headerName": "Error", "minWidth": 200, "tooltipField": "error"},
]
PERFORMANCE_COLUMNS: list[dict[str, Any]] = [
    {"field": "function_name", "headerName": "Function", "minWidth": 180},
    {"field": "total_calls", "headerName": "Calls"},
    {"field": "avg_runtime_seconds", "headerName": "Avg s"},
    {"field": "max_runtime_seconds", "headerName": "Max s"},
    {"field": "avg_task_size", "headerName": "Avg task size"},
    {"field": "solved", "headerName": "Solved"},
    {"field": "failed", "headerName": "Failed"},
]
LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
# The app's own actions: per-app endpoints where there is one, a one-app bulk job else.
ACTIONS = ("START", "STOP", "RESTART", "RESET", "ENABLE", "DISABLE")
DESTRUCTIVE = {"STOP", "DISABLE", "RESET"}


def actions_bar(can_command: bool) -> html.Div:
    if not can_command:
        return html.Div(id="app-actions", className="bulk-bar read-only")
    return html.Div(
        id="app-actions",
        className="bulk-bar",
        children=[
            html.Button(
                action.title(),
                id={"type": "app-action", "action": action},
                n_clicks=0,
                className="danger-button" if action in DESTRUCTIVE else "",
            )
            for action in ACTIONS
        ],
    )


def editor(is_admin: bool) -> html.Div:
    """Schedule, time zone and settings, saved with ``If-Match`` (admins only)."""
    if not is_admin:
        return html.Div(id="app-editor")
    return html.Div(
        id="app-editor",
        className="editor",
        children=[
            html.H3("Edit"),
            dcc.Store(id="edit-etag"),
            html.Label(
                [html.Span("Schedule (cron)"), dcc.Input(id="edit-schedule", type="text")],
                className="field",
            ),
            html.Label(
                [html.Span("Time zone"), dcc.Input(id="edit-timezone", type="text")],
                className="field",
            ),
            html.Label(
                [html.Span("Settings (JSON)"), dcc.Textarea(id="edit-settings", rows=6)],
                className="field",
            ),
            html.Div(
                className="bulk-bar",
                children=[
                    html.Button("Save", id="edit-save", n_clicks=0),
                    html.Button("Reload", id="edit-reload", n_clicks=0),
                ],
            ),
            html.Div(id="edit-status", className="action-status", role="status"),
        ],
    )


def layout(app_id: str, can_command: bool, is_admin: bool, run: str | None = None) -> html.Div:
    return html.Div(
        [
            dcc.Link("← Program Manager", href=paths.view_path("all"), className="back-link"),
            html.H2(f"App {app_id}", id="page-title"),
            dcc.Store(id="detail-app", data=app_id),
            dcc.Store(id="detail-run", data=run),
            html.Div(id="detail-error", className="error", role="alert"),
            actions_bar(can_command),
            html.Div(id="action-status", className="action-status", role="status"),
            html.Div(
                className="detail",
                children=[
                    html.Section(
                        className="detail-fields",
                        # the editor first: an admin should not scroll past 20 fields
                        children=[editor(is_admin), html.Div(id="detail-fields")],
                    ),
                    html.Section(
                        className="detail-tabs",
                        children=[
                            dcc.Tabs(
                                id="detail-tabs",
                                value="logs",
                                children=[
                                    dcc.Tab(label="Logs", value="logs", id="tab-logs"),
                                    dcc.Tab(label="History", value="history", id="tab-history"),
                                    dcc.Tab(
                                        label="Performance",
                                        value="performance",
                                        id="tab-performance",
                                    ),
                                    dcc.Tab(label="Health", value="health", id="tab-health"),
                                ],
                            ),
                            html.Div(id="detail-tab-body"),
                        ],
                    ),
                ],
            ),
        ]
    )


def logs_panel(runs: list[dict[str, str]], selected: str | None) -> html.Div:
    """The Logs tab: which run (the last by default), minimum level, search; the
    application logs and the run's function calls; a clicked line shown in full."""
    return html.Div(
        [
            html.Div(
                className="pm-toolbar",
                children=[
                    dcc.Dropdown(
                        id="log-run",
                        options=runs,
                        value=selected,
                        placeholder="All runs",
                        clearable=False,
                        style={"width": "330px"},
                    ),
                    dcc.Dropdown(
                        id="log-level",
                        options=LEVELS,
                        placeholder="Any level",
                        style={"width": "140px"},
                    ),
                    dcc.Input(
                        id="log-search",
                        type="search",
                        debounce=True,
                        placeholder="Search messages",
                        maxLength=200,
                        className="search-box",
                    ),
                ],
            ),
            html.Div(id="log-error", className="error", role="alert"),
            # newest first, as the API answers; a clicked line is shown in full below
            grid("log-grid", LOG_COLUMNS, height="38vh", getRowId="params.data.id"),
            html.Pre(
                id="log-full", className="log-full", children="Click a line for its full message."
            ),
            html.H4("Function calls of the run"),
            grid("function-grid", FUNCTION_COLUMNS, height="22vh"),
        ]
    )


def fields_form(fields: list[tuple[str, str]]) -> html.Form:
    """The app's fields as a read-only form."""
    rows: list[Any] = []
    for label, value in fields:
        field_id = "field-" + label.lower().replace(" ", "-")
        control: Any
        if "\n" in value or label == "Settings":
            control = dcc.Textarea(id=field_id, value=value, readOnly=True, rows=6)
        else:
            control = dcc.Input(id=field_id, value=value, readOnly=True, type="text")
        rows.append(html.Label([html.Span(label), control], className="field"))
    return html.Form(rows, className="fields-form")


def performance_charts(runtime: dict[str, Any], task_size: dict[str, Any]) -> html.Div:
    """The Performance tab's charts: average runtime and task size per day, per function."""
    return html.Div(
        className="charts",
        children=[
            graph("perf-runtime-chart", runtime, height="260px"),
            graph("perf-size-chart", task_size, height="260px"),
        ],
    )


HEALTH_HISTORY_COLUMNS: list[dict[str, Any]] = [
    {"field": "verdict", "headerName": "Verdict", "minWidth": 100, "maxWidth": 120},
    {"field": "raised", "headerName": "Raised (UTC)", "minWidth": 176, "maxWidth": 184},
    {"field": "cleared", "headerName": "Cleared (UTC)", "minWidth": 176, "maxWidth": 184},
    {
        "field": "evidence",
        "headerName": "Evidence",
        "minWidth": 240,
        "flex": 3,
        "tooltipField": "evidence",
    },
]
for _column in HEALTH_HISTORY_COLUMNS:
    _column["filter"] = False  # a short list, newest first: sorting is enough


def health_panel(
    summary: str, cards: list[Any], figure: dict[str, Any], history: list[dict[str, Any]]
) -> html.Div:
    """The Health tab: the baseline in a line, the verdicts held now (with the notes on
    their runs), the runs' durations with the baseline drawn, and the verdicts' history."""
    return html.Div(
        [
            html.P(summary, id="health-baseline", className="health-baseline"),
            html.Div(
                cards or [html.Span("No verdict: healthy.", className="badge status-completed")],
                id="health-verdicts",
                className="health-verdicts",
            ),
            graph("health-duration-chart", figure, height="280px"),
            html.H4("Verdicts raised and cleared"),
            grid(
                "health-history-grid",
                HEALTH_HISTORY_COLUMNS,
                height="24vh",
                rows=history,
                dashGridOptions={"tooltipShowDelay": 300},
            ),
        ]
    )


def tab_grid(tab: str, rows: list[dict[str, Any]]) -> Any:
    """A fresh grid per tab (its columns sized for its own data)."""
    columns = {"history": HISTORY_COLUMNS, "performance": PERFORMANCE_COLUMNS}.get(
        tab, HISTORY_COLUMNS
    )
    height = "34vh" if tab == "performance" else "60vh"  # below its charts
    return grid(f"detail-grid-{tab}", columns, height=height, rows=rows)
