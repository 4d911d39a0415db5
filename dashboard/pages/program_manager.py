"""Program Manager: the fleet as a grid, filtered by the sidebar, with bulk actions."""

from __future__ import annotations

from dash import dcc, html

from dashboard.pages.grids import grid
from dashboard.rows import BULK_COMMANDS, VIEW_LABELS

COLUMNS = [
    {"field": "id", "headerName": "App ID", "cellClass": "link-cell", "minWidth": 200},
    {"field": "group", "headerName": "Group"},
    {"field": "parent", "headerName": "Parent"},
    {"field": "app", "headerName": "App name", "cellClass": "link-cell", "minWidth": 180},
    {"field": "last_run", "headerName": "Last run", "minWidth": 160},
    {"field": "next_run", "headerName": "Next run", "minWidth": 160},
    {"field": "run_status", "headerName": "Run status"},
    {"field": "progress", "headerName": "Progress"},
    {"field": "eta", "headerName": "ETA"},
    {"field": "fatal_flag", "headerName": "Fatal flag"},
    {"field": "disabled", "headerName": "Disabled"},
]


def layout(view: str, group: str | None, can_command: bool) -> html.Div:
    title = f"Group {group}" if group else VIEW_LABELS.get(view, "All")
    bulk = (
        html.Div(
            id="bulk-bar",
            className="bulk-bar",
            children=[
                html.Button(
                    command.title(),
                    id={"type": "bulk", "command": command},
                    className=f"bulk-button bulk-{command.lower()}",
                    n_clicks=0,
                )
                for command in BULK_COMMANDS
            ],
        )
        if can_command
        else html.Div(id="bulk-bar", className="bulk-bar read-only", children=[])
    )
    return html.Div(
        [
            html.H2(f"Program Manager · {title}", id="page-title"),
            dcc.Store(id="pm-filter", data={"view": view, "group": group}),
            dcc.Store(id="bulk-job"),
            dcc.Store(id="bulk-final"),
            bulk,
            html.Div(id="bulk-status", className="bulk-status", role="status"),
            html.Div(id="apps-count", className="muted"),
            grid(
                "apps-grid",
                COLUMNS,
                height="68vh",
                getRowId="params.data.id",
                dashGridOptions={
                    "rowSelection": {
                        "mode": "multiRow",
                        "checkboxes": True,
                        "headerCheckbox": True,
                        "enableClickSelection": False,
                    },
                },
            ),
        ]
    )
