"""Plotly figures for the Statistics page and the app detail's Performance tab.

Figures are plain dicts (``dcc.Graph`` hands them to plotly.js as they are) built from API
records, so they can be tested without a browser. Only ``bar`` and ``scatter`` traces (SVG):
no WebGL traces, no MathJax, no maps, so plotly.js needs no ``'unsafe-eval'`` and fetches
nothing (see ``GRAPH_CONFIG``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from dash import dcc

PERIOD_HOURS = {"last_1h": 1, "last_24h": 24, "last_7d": 24 * 7}
MAX_LINES = 10  # function trends: the most-called functions only, to keep a chart readable

# No plotly logo (a link to plotly.com), no "edit in Chart Studio"/"send to cloud" buttons,
# no selection tools; the image export renders in the browser.
GRAPH_CONFIG: dict[str, Any] = {
    "displaylogo": False,
    "showLink": False,
    "showSendToCloud": False,
    "showEditInChartStudio": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d"],
}

STATUS_COLORS = {
    "COMPLETED": "#2e7d32",
    "FAILED": "#c62828",
    "RUNNING": "#1559b3",
    "STOPPED": "#8d6e63",
}
OTHER_COLOR = "#9fb0c2"


def period_start(period: str, now: dt.datetime | None = None) -> str:
    """The start of a ``last_*`` window as naive UTC ISO 8601 (the API's ``from``)."""
    current = now or dt.datetime.now(dt.UTC)
    start = current - dt.timedelta(hours=PERIOD_HOURS.get(period, 24))
    return start.replace(tzinfo=None, microsecond=0).isoformat()


def graph(graph_id: str, figure: dict[str, Any] | None = None, height: str = "300px") -> Any:
    return dcc.Graph(
        id=graph_id,
        figure=figure or empty_figure("Loading…"),
        config=GRAPH_CONFIG,
        mathjax=False,
        style={"height": height, "width": "100%"},
        className="chart",
    )


Window = tuple[str, str]  # (since, until) of a time axis, ISO 8601 UTC


def period_window(period: str, now: dt.datetime | None = None) -> Window:
    """The time axis of a ``last_*`` period: its start (the API's ``from``) and now."""
    current = now or dt.datetime.now(dt.UTC)
    until = current.replace(tzinfo=None, microsecond=0).isoformat()
    return period_start(period, current), until


def _time_axis(title: str, window: Window | None) -> dict[str, Any]:
    """A date axis over the whole window (one point alone would get a millisecond range)."""
    axis: dict[str, Any] = {"title": {"text": title}, "automargin": True, "type": "date"}
    if window is not None:
        axis["range"] = [_plain(window[0]), _plain(window[1])]
    return axis


def _plain(value: str) -> str:
    """An API timestamp as plotly reads dates: no zone suffix (all times are UTC)."""
    return value.removesuffix("Z").split("+")[0]


def _layout(title: str, x_title: str, y_title: str, **extra: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "title": {"text": title, "font": {"size": 14}, "x": 0.01},
        "margin": {"l": 56, "r": 16, "t": 40, "b": 40},
        "xaxis": {"title": {"text": x_title}, "automargin": True},
        "yaxis": {"title": {"text": y_title}, "automargin": True, "rangemode": "tozero"},
        # under the plot, where many series cannot cover the title
        "legend": {"orientation": "h", "x": 0, "xanchor": "left", "y": -0.32, "yanchor": "top"},
        "hovermode": "closest",
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
    }
    layout.update(extra)
    return layout


def empty_figure(message: str, title: str = "") -> dict[str, Any]:
    """No traces, a centred message (no data in the period, or an error)."""
    return {
        "data": [],
        "layout": {
            **_layout(title, "", ""),
            "xaxis": {"visible": False},
            "yaxis": {"visible": False},
            "annotations": [
                {
                    "text": message,
                    "showarrow": False,
                    "xref": "paper",
                    "yref": "paper",
                    "x": 0.5,
                    "y": 0.5,
                    "font": {"size": 13, "color": "#66758a"},
                }
            ],
        },
    }


def throughput_figure(pipelines: list[dict[str, Any]]) -> dict[str, Any]:
    """Tasks per document type, stacked: completed, failed, still open (one bar each)."""
    title = "Pipeline tasks per document type"
    if not pipelines:
        return empty_figure("No pipeline tasks in this period", title)
    types = [p["document_type"] for p in pipelines]
    completed = [p.get("completed", 0) for p in pipelines]
    failed = [p.get("failed", 0) for p in pipelines]
    open_ = [
        max(0, p.get("total_tasks", 0) - p.get("completed", 0) - p.get("failed", 0))
        for p in pipelines
    ]
    per_hour = [p.get("throughput_per_hour", 0) for p in pipelines]
    traces = [
        {
            "type": "bar",
            "name": "completed",
            "x": types,
            "y": completed,
            "customdata": per_hour,
            "marker": {"color": STATUS_COLORS["COMPLETED"]},
            "hovertemplate": "%{x}: %{y} completed (%{customdata}/h)<extra></extra>",
        },
        {
            "type": "bar",
            "name": "failed",
            "x": types,
            "y": failed,
            "marker": {"color": STATUS_COLORS["FAILED"]},
            "hovertemplate": "%{x}: %{y} failed<extra></extra>",
        },
        {
            "type": "bar",
            "name": "pending / processing",
            "x": types,
            "y": open_,
            "marker": {"color": OTHER_COLOR},
            "hovertemplate": "%{x}: %{y} open<extra></extra>",
        },
    ]
    return {"data": traces, "layout": _layout(title, "", "tasks", barmode="stack")}


def _by_function(points: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    series: dict[str, list[dict[str, Any]]] = {}
    for point in points:
        series.setdefault(point["function_name"], []).append(point)
    return series


def _line(name: str, x: list[Any], y: list[Any], unit: str) -> dict[str, Any]:
    return {
        "type": "scatter",
        "mode": "lines+markers",
        "name": name,
        "x": x,
        "y": y,
        "hovertemplate": f"{name}<br>%{{x}}: %{{y}}{unit}<extra></extra>",
    }


def trends_figure(
    points: list[dict[str, Any]], window: Window | None = None, limit: int = MAX_LINES
) -> dict[str, Any]:
    """Average runtime per hour, one line per function (the ``limit`` most called)."""
    title = "Function runtime per hour (average)"
    series = _by_function(points)
    if not series:
        return empty_figure("No function calls in this period", title)
    calls = {name: sum(p.get("calls", 0) for p in pts) for name, pts in series.items()}
    names = sorted(series, key=lambda n: (-calls[n], n))[:limit]
    if len(series) > limit:
        title += f": the {limit} most called of {len(series)} functions"
    traces = []
    for name in sorted(names):
        pts = sorted(series[name], key=lambda p: p["bucket"])
        x = [p["bucket"] for p in pts]
        traces.append(_line(name, x, [p["avg_runtime_seconds"] for p in pts], " s"))
    layout = _layout(title, "", "seconds", xaxis=_time_axis("hour (UTC)", window))
    return {"data": traces, "layout": layout}


def runtimes_figure(
    runtimes: list[dict[str, Any]], window: Window | None = None, limit: int | None = None
) -> dict[str, Any]:
    """The period's runs (the ``limit`` latest when there are more): duration against
    start, one marker colour per outcome."""
    title = "Runs: duration by outcome"
    if limit is not None and len(runtimes) >= limit:
        title += f" (the {limit} latest)"
    timed = [r for r in runtimes if r.get("duration_seconds") is not None]
    if not timed:
        return empty_figure("No runs in this period", title)
    by_status: dict[str, list[dict[str, Any]]] = {}
    for run in timed:
        by_status.setdefault(str(run.get("status") or ""), []).append(run)
    traces = []
    for status in sorted(by_status):
        runs = sorted(by_status[status], key=lambda r: r["started"])
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": f"{status.lower()} ({len(runs)})",
                "x": [r["started"] for r in runs],
                "y": [r["duration_seconds"] for r in runs],
                "text": [r.get("app", "") for r in runs],
                "marker": {"color": STATUS_COLORS.get(status, OTHER_COLOR), "size": 8},
                "hovertemplate": "%{text}<br>%{x}: %{y} s<extra></extra>",
            }
        )
    layout = _layout(title, "", "seconds", xaxis=_time_axis("started (UTC)", window))
    return {"data": traces, "layout": layout}


def app_performance_figures(performance: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """An app's functions over its window (``GET /performance/functions/{app_id}``): average
    runtime, and summed task size, per bucket."""
    functions = performance.get("functions") or []
    bucket = performance.get("bucket") or "day"
    window = (performance["since"], performance["until"]) if performance.get("since") else None
    runtime_title = f"Average runtime per {bucket}"
    size_title = f"Task size per {bucket}"
    with_points = [f for f in functions if f.get("points")]
    if not with_points:
        message = "No function calls in this window"
        return empty_figure(message, runtime_title), empty_figure(message, size_title)
    runtime, size = [], []
    for function in sorted(with_points, key=lambda f: f["function_name"]):
        name = function["function_name"]
        pts = sorted(function["points"], key=lambda p: p["bucket"])
        x = [p["bucket"] for p in pts]
        runtime.append(_line(name, x, [p["avg_runtime_seconds"] for p in pts], " s"))
        size.append(_line(name, x, [p["task_size"] for p in pts], ""))
    axis = _time_axis(f"{bucket} (UTC)", window)
    return (
        {"data": runtime, "layout": _layout(runtime_title, "", "seconds", xaxis=axis)},
        {"data": size, "layout": _layout(size_title, "", "items", xaxis=axis)},
    )
