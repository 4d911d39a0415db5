"""API pipeline figures -> Dash components: the stage matrix, a stage's view and the
recent errors grouped by document type. Pure functions of the API's records."""

from __future__ import annotations

from typing import Any

from dash import html

from dashboard.rows import short_time

STATUS_ORDER = ("PENDING", "PROCESSING", "RETRYING", "COMPLETED", "FAILED")


def _breakdown(by_status: dict[str, int]) -> str:
    """``PROCESSING 2, FAILED 1`` (the non-zero statuses), for a cell's tooltip."""
    parts = [f"{s} {by_status.get(s, 0)}" for s in STATUS_ORDER if by_status.get(s)]
    return ", ".join(parts) or "no tasks"


def _cell(document_type: str, cell: dict[str, Any]) -> html.Td:
    failed = int(cell["failed"])
    children: list[Any] = [html.Span(str(cell["total"]), className="cell-total")]
    if failed:
        children.append(html.Span(f"{failed} failed", className="cell-failed"))
    classes = ["stage-cell"]
    if failed:
        classes.append("has-failed")
    if not cell["total"]:
        classes.append("is-empty")
    return html.Td(
        children,
        className=" ".join(classes),
        title=f"{document_type} in {cell['stage']}: {_breakdown(cell['by_status'])}",
        **{
            "data-type": document_type,
            "data-stage": cell["stage"],
            "data-total": str(cell["total"]),
            "data-failed": str(failed),
        },
    )


def stage_matrix(matrix: dict[str, Any]) -> Any:
    """Document types down, stages across (pipeline order), counts in the cells; a cell
    holding failed tasks is highlighted and says how many."""
    rows = matrix.get("document_types") or []
    if not rows:
        return html.P("No pipeline tasks in this period.", className="muted", id="matrix-empty")
    stages = list(matrix.get("stages") or [])
    head = html.Tr(
        [html.Th("Document type")] + [html.Th(s, scope="col") for s in stages] + [html.Th("Total")]
    )
    body = [
        html.Tr(
            [html.Th(row["document_type"], scope="row")]
            + [_cell(row["document_type"], cell) for cell in row["cells"]]
            + [
                html.Td(
                    str(row["total"]),
                    className="row-total",
                    **{"data-type": row["document_type"], "data-total": str(row["total"])},
                )
            ]
        )
        for row in rows
    ]
    return html.Table(
        [html.Thead(head), html.Tbody(body)], className="matrix", id="stage-matrix-table"
    )


def stage_rows(matrix: dict[str, Any], stage: str) -> list[dict[str, Any]]:
    """One stage's column of the matrix as grid rows: per document type, its tasks in the
    stage by status."""
    rows = []
    for row in matrix.get("document_types") or []:
        for cell in row["cells"]:
            if cell["stage"] == stage and cell["total"]:
                rows.append(
                    {"document_type": row["document_type"], "total": cell["total"]}
                    | {s.lower(): cell["by_status"].get(s, 0) for s in STATUS_ORDER}
                )
    return rows


def stage_errors(errors: dict[str, Any], stage: str) -> list[dict[str, Any]]:
    """The recent failures that happened in ``stage``, newest first, as grid rows."""
    found = [
        {
            "document_type": group["document_type"],
            "id": item["id"],
            "document_ref": item["document_ref"],
            "error": item.get("error") or "",
            "retries": item["retries"],
            "at": item["at"],
        }
        for group in errors.get("document_types") or []
        for item in group["recent"]
        if item.get("error_stage") == stage
    ]
    found.sort(key=lambda e: e["at"], reverse=True)
    return [{**e, "at": short_time(e["at"])} for e in found]


def error_groups(errors: dict[str, Any]) -> Any:
    """Recent failures grouped by document type: how many, per failing stage, the latest."""
    groups = errors.get("document_types") or []
    if not groups:
        return html.P("No failed tasks in this period.", className="muted", id="errors-empty")
    cards = []
    for group in groups:
        stages = [
            html.Span(f"{s['error_stage'] or 'no stage'}: {s['count']}", className="chip")
            for s in group["by_stage"]
        ]
        recent = [
            html.Li(
                [
                    html.Span(short_time(item["at"]), className="muted"),
                    " ",
                    html.Strong(item["document_ref"]),
                    f" [{item.get('error_stage') or '-'}] ",
                    html.Span(item.get("error") or "(no message)", className="error-text"),
                ]
            )
            for item in group["recent"]
        ]
        cards.append(
            html.Section(
                [
                    html.H4(f"{group['document_type']} — {group['failed']} failed"),
                    html.Div(stages, className="chips"),
                    html.Ul(recent, className="error-list"),
                ],
                className="error-group card",
                **{"data-type": group["document_type"]},
            )
        )
    return cards
