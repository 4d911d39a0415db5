"""Statistics: charts of pipeline throughput, function runtimes and runs over a period; the
throughput figures and the slowest functions as tables below them."""

from __future__ import annotations

from typing import Any

from dash import dcc, html

from dashboard.charts import graph
from dashboard.pages.grids import grid

THROUGHPUT_COLUMNS: list[dict[str, Any]] = [
    {"field": "document_type", "headerName": "Document type"},
    {"field": "total_tasks", "headerName": "Tasks"},
    {"field": "completed", "headerName": "Completed"},
    {"field": "failed", "headerName": "Failed"},
    {"field": "throughput_per_hour", "headerName": "Per hour"},
    {"field": "avg_duration_seconds", "headerName": "Avg s"},
    {"field": "success_rate", "headerName": "Success rate", "cellRenderer": "Percent"},
    {"field": "failure_rate", "headerName": "Failure rate", "cellRenderer": "Percent"},
]
SLOWEST_COLUMNS: list[dict[str, Any]] = [
    {"field": "function_name", "headerName": "Function"},
    {"field": "app_id", "headerName": "App"},
    {"field": "avg_runtime_seconds", "headerName": "Avg s", "sort": "desc"},
    {"field": "max_runtime_seconds", "headerName": "Max s"},
    {"field": "avg_task_size", "headerName": "Avg task size"},
    {"field": "total_calls", "headerName": "Calls"},
]
PERIODS = [
    {"label": "Last hour", "value": "last_1h"},
    {"label": "Last 24 hours", "value": "last_24h"},
    {"label": "Last 7 days", "value": "last_7d"},
]


def layout() -> html.Div:
    return html.Div(
        [
            html.H2("Statistics", id="page-title"),
            html.Div(id="stats-error", className="error", role="alert"),
            # retries a failed load (callbacks/statistics.py); off while the figures are fine
            dcc.Interval(id="stats-retry", interval=5_000, disabled=True),
            dcc.RadioItems(
                id="stats-period",
                options=PERIODS,
                value="last_24h",
                inline=True,
                className="period-picker",
            ),
            html.Div(
                className="charts",
                children=[graph("throughput-chart"), graph("runtimes-chart")],
            ),
            html.Div(className="charts", children=[graph("trends-chart", height="340px")]),
            html.H3("Pipeline throughput"),
            grid("throughput-grid", THROUGHPUT_COLUMNS, height="260px"),
            html.H3("Slowest functions"),
            grid("slowest-grid", SLOWEST_COLUMNS, height="360px"),
        ]
    )
