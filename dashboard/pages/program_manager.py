"""Program Manager: the fleet as a grid, filtered by the sidebar, with bulk actions."""

from __future__ import annotations

from dash import dcc, html

from dashboard.pages.grids import grid
from dashboard.rows import (
    BLOCK_SIZE,
    BULK_COMMANDS,
    SORTABLE_COLUMNS,
    VIEW_LABELS,
)

# Sorting and filtering happen at the API (the grid pages on the server): only the columns
# it can sort by are sortable; only group and parent have a filter ("equals": the API's
# exact-match parameters). rows.SORTABLE_COLUMNS / FILTERABLE_COLUMNS name them.
EQUALS_FILTER = {
    "filter": "agTextColumnFilter",
    "filterParams": {"filterOptions": ["equals"], "maxNumConditions": 1},
}
COLUMNS = [
    {"field": "id", "headerName": "App ID", "cellClass": "link-cell", "minWidth": 200},
    {"field": "group", "headerName": "Group", **EQUALS_FILTER},
    {"field": "parent", "headerName": "Parent", **EQUALS_FILTER},
    {"field": "app", "headerName": "App name", "cellClass": "link-cell", "minWidth": 180},
    {"field": "last_run", "headerName": "Last run", "minWidth": 160},
    {"field": "next_run", "headerName": "Next run", "minWidth": 160},
    {"field": "run_status", "headerName": "Run status"},
    {"field": "progress", "headerName": "Progress"},
    {"field": "eta", "headerName": "ETA"},
    {"field": "fatal_flag", "headerName": "Fatal flag"},
    {"field": "disabled", "headerName": "Disabled"},
]
for _column in COLUMNS:
    _column["sortable"] = _column["field"] in SORTABLE_COLUMNS
    _column.setdefault("filter", False)
# The infinite row model: the grid asks for blocks of BLOCK_SIZE rows (one API page each,
# callbacks/apps_table.py); it keeps at most MAX_BLOCKS of them, and each poll reloads the
# blocks it keeps (assets/apps_grid.js), so a poll costs at most MAX_BLOCKS API requests.
MAX_BLOCKS = 2
INFINITE_OPTIONS = {
    "cacheBlockSize": BLOCK_SIZE,
    "maxBlocksInCache": MAX_BLOCKS,
    "maxConcurrentDatasourceRequests": 1,  # dash-ag-grid answers one request at a time
    "infiniteInitialRowCount": 1,
    "blockLoadDebounceMillis": 100,
}


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
            dcc.Store(id="apps-refreshed"),
            bulk,
            html.Div(id="bulk-status", className="bulk-status", role="status"),
            html.Div(id="apps-count", className="muted"),
            grid(
                "apps-grid",
                COLUMNS,
                height="68vh",
                rowModelType="infinite",
                getRowId="params.data.id",
                dashGridOptions={
                    **INFINITE_OPTIONS,
                    "rowSelection": {
                        "mode": "multiRow",
                        "checkboxes": True,
                        # "select all" of rows never loaded: not with the infinite model
                        "headerCheckbox": False,
                        "enableClickSelection": False,
                    },
                },
            ),
        ]
    )
