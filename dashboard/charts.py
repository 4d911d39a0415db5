"""Plotly figures for the Statistics page and the app detail's Performance tab.

Figures are plain dicts (``dcc.Graph`` hands them to plotly.js as they are) built from API
records, so they can be tested without a browser. Only ``bar`` and ``scatter`` traces (SVG):
no WebGL traces, no MathJax, no maps, so plotly.js needs no ``'unsafe-eval'`` and fetches
nothing (see ``GRAPH_CONFIG``).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from typing import Any

from dash import dcc

PERIOD_HOURS = {"last_1h": 1, "last_24h": 24, "last_7d": 24 * 7}
MAX_LINES = 10  # function trends: the most-called functions only, to keep a chart readable

# No plotly logo (a link to plotly.com), no "edit in Chart Studio"/"send to cloud" buttons,
# no selection tools; the image export renders in the browser.
GRAPH_CONFIG: dcc.Graph.Config = {
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


EDGE = 0.02  # of a time window, on each side: a point at "now" is drawn whole, not halved
HEADROOM = 1.08  # the value axis reaches at least this far above the highest point
NICE_STEPS = (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)


def _time_axis(title: str, window: Window | None) -> dict[str, Any]:
    """A date axis over the whole window (one point alone would get a millisecond range),
    a little wider on each side, so points at its edges are drawn whole."""
    axis: dict[str, Any] = {"title": {"text": title}, "automargin": True, "type": "date"}
    if window is not None:
        since, until = (dt.datetime.fromisoformat(_plain(w)) for w in window)
        edge = (until - since) * EDGE
        axis["range"] = [(since - edge).isoformat(), (until + edge).isoformat()]
    return axis


def nice_top(highest: float) -> float:
    """The top of a value axis that starts at zero: a round number (1, 1.2, 1.5, 2, 2.5,
    3, 4, 5, 6 or 8 times a power of ten) at least ``HEADROOM`` times the highest value, so
    every point sits inside the axis, below its top tick."""
    if not highest or highest <= 0 or not math.isfinite(highest):
        return 1.0
    wanted = highest * HEADROOM
    power = 10.0 ** math.floor(math.log10(wanted))
    return next(s * power for s in NICE_STEPS if s * power >= wanted * (1 - 1e-9))


def value_axis(title: str, values: Iterable[float | None], percent: bool = False) -> dict[str, Any]:
    """A value axis from zero to a round number above the data (``nice_top``); fractions
    (0-1) as percentages when ``percent``."""
    highest = max((float(v) for v in values if v is not None), default=0.0)
    top = min(nice_top(highest), 1.0) if percent and highest <= 1 else nice_top(highest)
    axis: dict[str, Any] = {
        "title": {"text": title},
        "automargin": True,
        "rangemode": "tozero",
        "range": [0, top],
    }
    if percent:
        axis["tickformat"] = ".0%"
    return axis


def _highest(traces: list[dict[str, Any]]) -> list[float]:
    return [y for t in traces for y in t["y"] if y is not None]


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
                    "font": {"size": 13, "color": "#5b6a7e"},
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
    rates = [p.get("success_rate") for p in pipelines]
    traces = [
        {
            "type": "bar",
            "name": "completed",
            "x": types,
            "y": completed,
            "customdata": [[h, r or 0] for h, r in zip(per_hour, rates, strict=True)],
            "marker": {"color": STATUS_COLORS["COMPLETED"]},
            "hovertemplate": "%{x}: %{y} completed (%{customdata[0]}/h),"
            " %{customdata[1]:.0%} of the tasks<extra></extra>",
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
    totals = [c + f + o for c, f, o in zip(completed, failed, open_, strict=True)]
    layout = _layout(title, "", "tasks", barmode="stack", yaxis=value_axis("tasks", totals))
    return {"data": traces, "layout": layout}


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
    layout = _layout(
        title,
        "",
        "seconds",
        xaxis=_time_axis("hour (UTC)", window),
        yaxis=value_axis("seconds", _highest(traces)),
    )
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
    layout = _layout(
        title,
        "",
        "seconds",
        xaxis=_time_axis("started (UTC)", window),
        yaxis=value_axis("seconds", _highest(traces)),
    )
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
    runtime_axis = value_axis("seconds", _highest(runtime))
    size_axis = value_axis("items", _highest(size))
    return (
        {"data": runtime, "layout": _layout(runtime_title, "", "", xaxis=axis, yaxis=runtime_axis)},
        {"data": size, "layout": _layout(size_title, "", "", xaxis=axis, yaxis=size_axis)},
    )


def _level(name: str, x: list[Any], value: float, color: str, dash: str) -> dict[str, Any]:
    """A horizontal line across the runs at ``value`` (a baseline figure)."""
    return {
        "type": "scatter",
        "mode": "lines",
        "name": f"{name} {value:g} s",
        "x": [x[0], x[-1]] if len(x) > 1 else [x[0], x[0]],
        "y": [value, value],
        "line": {"color": color, "dash": dash, "width": 1.5},
        "hovertemplate": f"{name}: {value:g} s<extra></extra>",
    }


def health_duration_figure(
    runtimes: list[dict[str, Any]], baseline: dict[str, Any], slow_factor: float | None
) -> dict[str, Any]:
    """An app's recent runs (duration against start, one colour per outcome) with its
    baseline drawn across them: duration p50, p95 and the ``slow`` threshold (p95 x
    factor) from ``GET /apps/{id}/health``."""
    title = "Run durations against the baseline"
    timed = sorted(
        (r for r in runtimes if r.get("duration_seconds") is not None), key=lambda r: r["started"]
    )
    if not timed:
        return empty_figure("No finished runs yet", title)
    figure = runtimes_figure(timed)
    traces: list[dict[str, Any]] = list(figure["data"])
    x = [r["started"] for r in timed]
    p50, p95 = baseline.get("duration_p50"), baseline.get("duration_p95")
    if p50 is not None:
        traces.append(_level("p50", x, float(p50), "#6b7280", "dot"))
    if p95 is not None:
        traces.append(_level("p95", x, float(p95), "#d97706", "dash"))
        if slow_factor:
            threshold = round(float(p95) * float(slow_factor), 1)
            traces.append(_level("slow above", x, threshold, "#dc2626", "solid"))
    layout = _layout(
        title,
        "",
        "seconds",
        xaxis=_time_axis("started (UTC)", None),
        yaxis=value_axis("seconds", _highest(traces)),
    )
    return {"data": traces, "layout": layout}
