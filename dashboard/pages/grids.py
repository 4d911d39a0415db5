"""AG Grid defaults shared by the pages (no JavaScript function strings: the CSP allows no
'unsafe-eval'; dash-ag-grid interprets simple expressions such as ``getRowId``)."""

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
    if extra.get("rowModelType", "clientSide") == "clientSide":
        extra["rowData"] = rows or []  # other row models ask for their rows
    extra.setdefault("columnSize", "responsiveSizeToFit")
    return dag.AgGrid(
        id=grid_id,
        columnDefs=columns,
        defaultColDef=DEFAULT_COLUMN,
        dashGridOptions=options,
        style={"height": height, "width": "100%"},
        **extra,
    )
