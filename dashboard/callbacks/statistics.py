"""Statistics: throughput for the chosen period and the slowest functions."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output

from dashboard.api_client import ApiError
from dashboard.callbacks.session import needs_session
from dashboard.sessions import current_client


def register(app: dash.Dash) -> None:
    @app.callback(
        Output("throughput-grid", "rowData"),
        Output("slowest-grid", "rowData"),
        Output("stats-error", "children"),
        Input("stats-period", "value"),
        Input("slow-tick", "n_intervals"),
    )
    @needs_session
    def _stats(period: str | None, _: int | None) -> tuple[Any, Any, str]:
        client = current_client()
        try:
            throughput = client.throughput(period or "last_24h")["pipelines"]
            slowest = client.slowest_functions(20)
        except ApiError as exc:
            return [], [], f"Could not load the statistics: {exc.message}"
        return throughput, slowest, ""
