"""Program Manager: the fleet as a grid, filtered by the sidebar, with bulk actions."""

from __future__ import annotations

from typing import Any

from dash import dcc, html

from dashboard.pages.grids import grid
from dashboard.rows import (
    BLOCK_SIZE,
    BULK_COMMANDS,
    DEFAULT_SORT,
    SORTABLE_COLUMNS,
    view_label,
)

# Sorting and filtering happen at the API (the grid pages on the server): only the columns
# it can sort by are sortable; only group and parent have a filter ("equals": the API's
# exact-match parameters). rows.SORTABLE_COLUMNS / FILTERABLE_COLUMNS name them.
EQUALS_FILTER = {
    "filter": "agTextColumnFilter",
    "filterParams": {"filterOptions": ["equals"], "maxNumConditions": 1},
}
# Sized to fit 1366 px (sidebar included) with every column readable (cells padded 6 px,
# dashboard.css, so the Health column fits beside the spec's): App ID pinned at
# the left, compact times (the full UTC value in the tooltip), badges and a progress bar
# drawn by assets/grid_cells.js, long text cut with a tooltip.
COLUMNS: list[dict[str, Any]] = [
    {
        "field": "id",
        "headerName": "App ID",
        "cellClass": "link-cell",
        "pinned": "left",
        "width": 160,
        "minWidth": 108,
        "tooltipField": "id",
    },
    {"field": "group", "headerName": "Group", "width": 84, "minWidth": 72, **EQUALS_FILTER},
    {"field": "parent", "headerName": "Parent", "width": 88, "minWidth": 76, **EQUALS_FILTER},
    {
        "field": "app",
        "headerName": "App name",
        "cellClass": "link-cell",
        "width": 140,
        "minWidth": 88,
        "tooltipField": "app",
    },
    {
        "field": "last_run",
        "headerName": "Last run",
        "width": 96,
        "minWidth": 88,
        "tooltipField": "last_run_utc",
    },
    {
        "field": "next_run",
        "headerName": "Next run",
        "width": 96,
        "minWidth": 88,
        "tooltipField": "next_run_utc",
    },
    {
        # the verdicts held now (docs/health.md), compact: the first one, "+n" for more
        "field": "health",
        "headerName": "Health",
        "width": 78,
        "minWidth": 70,
        "cellRenderer": "HealthBadge",
        "headerTooltip": "Health verdicts held now; filter with the sidebar's Unhealthy",
    },
    {
        "field": "run_status",
        "headerName": "Run status",
        "width": 100,
        "minWidth": 92,
        "cellRenderer": "StatusBadge",
    },
    {
        "field": "runs",
        "headerName": "Last 10 runs",
        "width": 116,
        "minWidth": 108,
        "cellRenderer": "RunStrip",
        "headerTooltip": "The last 10 runs, oldest left; click one for its logs",
    },
    {
        "field": "progress",
        "headerName": "Progress",
        "width": 104,
        "minWidth": 86,
        "cellRenderer": "ProgressBar",
    },
    {"field": "eta", "headerName": "ETA", "width": 76, "minWidth": 66},
    {
        "field": "fatal_flag",
        "headerName": "Fatal flag",
        "width": 86,
        "minWidth": 78,
        "cellRenderer": "FatalBadge",
    },
    {
        "field": "disabled",
        "headerName": "Disabled",
        "width": 80,
        "minWidth": 72,
        "cellRenderer": "DisabledBadge",
    },
]
# fatal and failed rows stand out (dash-ag-grid interprets these expressions: no eval)
ROW_CLASS_RULES = {
    "row-fatal": "params.data && params.data.fatal_flag && params.data.fatal_flag !== 'NO_FATAL'",
    "row-failed": "params.data && params.data.last_status === 'FAILED'",
}
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


def sorted_columns(sort: str) -> list[dict[str, Any]]:
    """The columns with the URL's sort shown on them (the grid then asks for it)."""
    order: dict[str, tuple[int, str]] = {}
    if sort != DEFAULT_SORT:
        for index, term in enumerate(sort.split(",")):
            column = term.lstrip("-")
            if column in SORTABLE_COLUMNS:
                order[column] = (index, "desc" if term.startswith("-") else "asc")
    columns = []
    for base in COLUMNS:
        spec = dict(base)
        if spec["field"] in order:
            spec["sortIndex"], spec["sort"] = order[spec["field"]]
        columns.append(spec)
    return columns


def toolbar(q: str) -> html.Div:
    """Search (the API's ``q``), saved views (stored in the user's API settings), and the
    name to save the current view under; the address bar always holds the view's link."""
    return html.Div(
        className="pm-toolbar",
        children=[
            dcc.Input(
                id="apps-search",
                type="search",
                value=q,
                placeholder="Search app id or name",
                debounce=True,
                maxLength=128,
                className="search-box",
            ),
            dcc.Dropdown(
                id="saved-views",
                placeholder="Saved views",
                options=[],
                clearable=False,
                searchable=False,
                className="saved-views",
                style={"width": "200px"},
            ),
            dcc.Input(
                id="view-name", placeholder="Name this view", maxLength=60, className="view-name"
            ),
            html.Button("Save view", id="save-view", n_clicks=0),
            html.Span(id="view-status", className="muted", role="status"),
        ],
    )


def confirm_box() -> html.Div:
    """Asks before a bulk action runs, naming how many apps it will touch (the API's
    dry run); always in the page, hidden until needed."""
    return html.Div(
        id="bulk-confirm",
        className="confirm hidden",
        children=[
            html.Span(id="bulk-confirm-text"),
            html.Button("Confirm", id="bulk-confirm-yes", n_clicks=0, className="danger-button"),
            html.Button("Cancel", id="bulk-confirm-no", n_clicks=0),
        ],
    )


def layout(
    view: str, group: str | None, can_command: bool, q: str = "", sort: str = DEFAULT_SORT
) -> html.Div:
    title = f"Group {group}" if group else view_label(view)
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
            dcc.Store(id="pm-filter", data={"view": view, "group": group, "q": q}),
            dcc.Store(id="apps-sort", data=sort),
            dcc.Store(id="bulk-pending"),
            dcc.Store(id="bulk-job"),
            dcc.Store(id="bulk-final"),
            dcc.Store(id="apps-refreshed"),
            toolbar(q),
            bulk,
            confirm_box(),
            html.Div(id="bulk-status", className="bulk-status", role="status"),
            html.Div(id="apps-count", className="muted"),
            grid(
                "apps-grid",
                sorted_columns(sort),
                height="66vh",
                rowModelType="infinite",
                getRowId="params.data.id",
                dashGridOptions={
                    **INFINITE_OPTIONS,
                    "rowClassRules": ROW_CLASS_RULES,
                    "tooltipShowDelay": 300,
                    # the checkboxes pinned beside the App ID, as narrow as they can be
                    "selectionColumnDef": {
                        "pinned": "left",
                        "width": 36,
                        "minWidth": 36,
                        "maxWidth": 36,
                        "resizable": False,
                    },
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
