"""Statistics: for the chosen period, the throughput chart and table, the function runtime
trends (hourly), the runs' outcomes and the slowest functions. Refreshed with the slow tick
(a minute) or a new period."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output

from dashboard import charts
from dashboard.api_client import ApiError
from dashboard.callbacks.session import needs_session
from dashboard.sessions import current_client

RUNS_SHOWN = 100  # one page of GET /runtimes


def register(app: dash.Dash) -> None:
    @app.callback(
        Output("throughput-grid", "rowData"),
        Output("slowest-grid", "rowData"),
        Output("throughput-chart", "figure"),
        Output("trends-chart", "figure"),
        Output("runtimes-chart", "figure"),
        Output("stats-error", "children"),
        Output("stats-retry", "disabled"),
        Input("stats-period", "value"),
        Input("slow-tick", "n_intervals"),
        Input("stats-retry", "n_intervals"),
    )
    @needs_session
    def _stats(period: str | None, _: int | None, __: int | None) -> tuple[Any, ...]:
        # Not on the fast tick: Dash drops the answer of a callback triggered again
        # before it returned, so a load slower than a tick would stay "Loading…" for
        # ever. A failed load is retried by its own interval, enabled only then.
        answer = _load(period)
        return (*answer, not answer[-1])

    def _load(period: str | None) -> tuple[Any, ...]:
        period = period or "last_24h"
        window = charts.period_window(period)
        since = window[0]
        client = current_client()
        try:
            throughput = client.throughput(period)["pipelines"]
            slowest = client.slowest_functions(20, period)
            trends = client.function_trends(since, bucket="hour")
            runs = client.recent_runtimes(since, limit=RUNS_SHOWN)
        except ApiError as exc:
            failed = charts.empty_figure("Could not load the figures")
            message = f"Could not load the statistics: {exc.message}"
            return [], [], failed, failed, failed, message
        return (
            throughput,
            slowest,
            charts.throughput_figure(throughput),
            charts.trends_figure(trends, window),
            charts.runtimes_figure(runs, window, limit=RUNS_SHOWN),
            "",
        )
