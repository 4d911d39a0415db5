"""Admin · Dead jobs: background messages that failed for good, and their re-queue."""

from __future__ import annotations

from typing import Any

from dash import html

from dashboard.pages.grids import grid

DEAD_JOB_COLUMNS: list[dict[str, Any]] = [
    {"field": "id", "headerName": "Id", "maxWidth": 80},
    {"field": "failed_at", "headerName": "Failed at", "minWidth": 170},
    {"field": "queue", "headerName": "Queue"},
    {"field": "actor", "headerName": "Actor", "minWidth": 180},
    {"field": "error", "headerName": "Error", "minWidth": 220},
    {"field": "args_text", "headerName": "Arguments", "minWidth": 200},
    {"field": "requeued_at", "headerName": "Re-queued at", "minWidth": 170},
]


def layout() -> html.Div:
    return html.Div(
        [
            html.H2("Dead jobs", id="page-title"),
            html.P(
                "Messages whose retries ran out. Re-queue sends the original message again, "
                "once, with a fresh retry count.",
                className="muted",
            ),
            html.Div(
                className="bulk-bar",
                children=[
                    html.Button("Re-queue selected", id="dead-requeue", type="button"),
                ],
            ),
            html.Div(id="dead-status", className="action-status", role="status"),
            html.Div(id="dead-error", className="error", role="alert"),
            grid(
                "dead-jobs-grid",
                DEAD_JOB_COLUMNS,
                height="60vh",
                getRowId="params.data.row_id",
                dashGridOptions={"rowSelection": "single"},
            ),
        ]
    )
