"""Data Processor: the latest pipeline tasks (documents through NER/OCR stages)."""

from __future__ import annotations

from dash import dcc, html

from dashboard.pages.grids import grid

TASK_COLUMNS = [
    {"field": "id", "headerName": "Task", "maxWidth": 100},
    {"field": "app_id", "headerName": "App"},
    {"field": "document_type", "headerName": "Document type"},
    {"field": "document_ref", "headerName": "Document"},
    {"field": "stage", "headerName": "Stage"},
    {"field": "status", "headerName": "Status"},
    {"field": "retries", "headerName": "Retries"},
    {"field": "duration_seconds", "headerName": "Seconds"},
    {"field": "error", "headerName": "Error", "minWidth": 200},
    {"field": "updated", "headerName": "Updated", "minWidth": 170},
]
STATUSES = ["", "PENDING", "PROCESSING", "RETRYING", "COMPLETED", "FAILED"]


def layout() -> html.Div:
    return html.Div(
        [
            html.H2("Data Processor", id="page-title"),
            html.Div(id="tasks-error", className="error", role="alert"),
            dcc.RadioItems(
                id="tasks-status",
                options=[{"label": s.title() or "All", "value": s} for s in STATUSES],
                value="",
                inline=True,
            ),
            grid("tasks-grid", TASK_COLUMNS, height="70vh"),
        ]
    )
