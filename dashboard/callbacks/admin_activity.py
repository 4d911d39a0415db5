"""Admin · Activity: the newest audit entries matching the filters (refreshed by the slow
tick); a filter the API refuses shows its message."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output

from dashboard.admin_rows import activity_filters, activity_row
from dashboard.api_client import ApiError
from dashboard.callbacks.session import needs_session
from dashboard.sessions import current_client

SHOWN = 100  # one page of the feed; narrower filters find older entries


def register(app: dash.Dash) -> None:
    @app.callback(
        Output("activity-grid", "rowData"),
        Output("activity-count", "children"),
        Output("activity-error", "children"),
        Input("activity-actor", "value"),
        Input("activity-action", "value"),
        Input("activity-outcome", "value"),
        Input("activity-from", "value"),
        Input("activity-to", "value"),
        Input("slow-tick", "n_intervals"),
    )
    @needs_session
    def _feed(*values: Any) -> tuple[Any, str, str]:
        filters = activity_filters(*values[:5])
        try:
            page = current_client().activity(limit=SHOWN, **filters)
        except ApiError as exc:
            return [], "", f"Could not load the activity: {exc.message}"
        rows = [activity_row(e) for e in page["data"]]
        more = (page.get("meta") or {}).get("next_cursor")
        count = f"{len(rows)} entries" + (
            " (the newest; narrow the filters for older)" if more else ""
        )
        return rows, count, ""
