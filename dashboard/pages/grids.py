"""AG Grid defaults shared by the pages (no JavaScript function strings: the CSP allows none)."""

from __future__ import annotations

from typing import Any

import dash_ag_grid as dag

DEFAULT_COLUMN: dict[str, Any] = {
    "sortable": True,
    "filter": True,
    "resizable": True,
    "minWidth": 100,
}


def grid(
    grid_id: str,
    columns: list[dict[str, Any]],
    height: str = "420px",
    rows: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> Any:
    options: dict[str, Any] = {"animateRows": False, "suppressCellFocus": False}
    options.update(extra.pop("dashGridOptions", {}))
    return dag.AgGrid(
        id=grid_id,
        columnDefs=columns,
        rowData=rows or [],
        defaultColDef=DEFAULT_COLUMN,
        columnSize="responsiveSizeToFit",
        dashGridOptions=options,
        style={"height": height, "width": "100%"},
        **extra,
    )
