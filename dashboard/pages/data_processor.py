"""Data Processor: pipeline status by document type x stage, the OCR and NER stage views,
the recent errors grouped by type, and the latest tasks."""

from __future__ import annotations

from typing import Any

from dash import dcc, html

from dashboard.pages.grids import grid
from dashboard.pages.statistics import PERIODS

TASK_COLUMNS: list[dict[str, Any]] = [
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
STAGE_VIEWS = ("OCR", "NER")
NARROW = {"minWidth": 70, "filter": False}  # no filter icon: short headers stay readable
STAGE_COLUMNS: list[dict[str, Any]] = [
    {"field": "document_type", "headerName": "Type", "minWidth": 100, "filter": False},
    {"field": "total", "headerName": "All", **NARROW},
    {"field": "pending", "headerName": "Pending", **NARROW},
    {"field": "processing", "headerName": "Busy", **NARROW},
    {"field": "retrying", "headerName": "Retry", **NARROW},
    {"field": "completed", "headerName": "Done", **NARROW},
    {"field": "failed", "headerName": "Failed", **NARROW},
]
STAGE_ERROR_COLUMNS: list[dict[str, Any]] = [
    {"field": "at", "headerName": "Failed at", "minWidth": 165, "filter": False},
    {"field": "document_type", "headerName": "Type", **NARROW},
    {"field": "document_ref", "headerName": "Document", **NARROW},
    {"field": "retries", "headerName": "Retries", **NARROW},
    {
        "field": "error",
        "headerName": "Error",
        "minWidth": 140,
        "filter": False,
        "tooltipField": "error",
    },
]


def _stage_view(stage: str) -> html.Section:
    key = stage.lower()
    return html.Section(
        id=f"stage-view-{key}",
        className="stage-view",
        children=[
            html.H3(f"{stage} stage"),
            html.P(
                f"Tasks of the period now in {stage}, by status; below, the latest failures "
                f"in {stage}.",
                className="muted",
            ),
            grid(f"stage-{key}-grid", STAGE_COLUMNS, height="170px"),
            grid(f"stage-{key}-errors", STAGE_ERROR_COLUMNS, height="200px"),
        ],
    )


def layout() -> html.Div:
    """Every section is rendered at once (no tabs): the callbacks fill them together."""
    return html.Div(
        [
            html.H2("Data Processor", id="page-title"),
            html.Div(id="dp-error", className="error", role="alert"),
            dcc.RadioItems(
                id="dp-period",
                options=PERIODS,
                value="last_24h",
                inline=True,
                className="period-picker",
            ),
            html.H3("Pipeline status by document type and stage"),
            html.P(
                "Tasks created in the period, counted in the stage each is in now; "
                "highlighted cells hold failed tasks (hover for the statuses).",
                className="muted",
            ),
            html.Div(id="stage-matrix", className="matrix-wrap"),
            html.Div([_stage_view(stage) for stage in STAGE_VIEWS], className="stage-views"),
            html.H3("Recent errors by document type"),
            html.Div(id="error-groups", className="error-groups"),
            html.H3("Latest tasks"),
            html.Div(id="tasks-error", className="error", role="alert"),
            dcc.RadioItems(
                id="tasks-status",
                options=[{"label": s.title() or "All", "value": s} for s in STATUSES],
                value="",
                inline=True,
            ),
            grid("tasks-grid", TASK_COLUMNS, height="420px"),
        ]
    )
