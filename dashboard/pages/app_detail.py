"""App Detail: the app's fields (read-only) beside tabs of logs, run history and
performance."""

from __future__ import annotations

from typing import Any

from dash import dcc, html

from dashboard import paths
from dashboard.charts import graph
from dashboard.pages.grids import grid

LOG_COLUMNS = [
    {"field": "timestamp", "headerName": "Time", "minWidth": 170, "sort": "desc"},
    {"field": "level", "headerName": "Level", "maxWidth": 110},
    {"field": "module", "headerName": "Module"},
    {"field": "function", "headerName": "Function"},
    {"field": "runtime", "headerName": "Runtime"},
    {"field": "message", "headerName": "Message", "minWidth": 320},
]
HISTORY_COLUMNS = [
    {"field": "started", "headerName": "Started", "minWidth": 170, "sort": "desc"},
    {"field": "ended", "headerName": "Ended", "minWidth": 170},
    {"field": "duration", "headerName": "Duration"},
    {"field": "status", "headerName": "Status"},
    {"field": "trigger", "headerName": "Trigger"},
    {"field": "total", "headerName": "Records"},
    {"field": "solved", "headerName": "Solved"},
    {"field": "failed", "headerName": "Failed"},
    {"field": "error", "headerName": "Error", "minWidth": 200},
]
PERFORMANCE_COLUMNS = [
    {"field": "function_name", "headerName": "Function", "minWidth": 180},
    {"field": "total_calls", "headerName": "Calls"},
    {"field": "avg_runtime_seconds", "headerName": "Avg s"},
    {"field": "max_runtime_seconds", "headerName": "Max s"},
    {"field": "avg_task_size", "headerName": "Avg task size"},
    {"field": "solved", "headerName": "Solved"},
    {"field": "failed", "headerName": "Failed"},
]


def layout(app_id: str) -> html.Div:
    return html.Div(
        [
            dcc.Link("← Program Manager", href=paths.view_path("all"), className="back-link"),
            html.H2(f"App {app_id}", id="page-title"),
            dcc.Store(id="detail-app", data=app_id),
            html.Div(id="detail-error", className="error", role="alert"),
            html.Div(
                className="detail",
                children=[
                    html.Section(id="detail-fields", className="detail-fields"),
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
                                ],
                            ),
                            html.Div(id="detail-tab-body"),
                        ],
                    ),
                ],
            ),
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


def tab_grid(tab: str, rows: list[dict[str, Any]]) -> Any:
    """A fresh grid per tab (its columns sized for its own data)."""
    columns = {
        "logs": LOG_COLUMNS,
        "history": HISTORY_COLUMNS,
        "performance": PERFORMANCE_COLUMNS,
    }.get(tab, LOG_COLUMNS)
    height = "34vh" if tab == "performance" else "60vh"  # below its charts
    return grid(f"detail-grid-{tab}", columns, height=height, rows=rows)
