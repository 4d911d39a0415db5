"""App Detail: the fields (refreshed with the table's tick) and the selected tab: Logs
(a run picker, level, search; application logs and the run's function calls), History,
Performance (charts of its functions over time)."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, html
from dash.exceptions import PreventUpdate

from dashboard import charts, health_views
from dashboard.api_client import ApiError
from dashboard.callbacks.session import needs_session
from dashboard.callbacks.user_settings import user_zone
from dashboard.pages.app_detail import (
    fields_form,
    health_panel,
    logs_panel,
    performance_charts,
    tab_grid,
)
from dashboard.rows import (
    detail_fields,
    duration_text,
    local_time,
    parse_time,
    short_time,
    utc_title,
    zone,
)
from dashboard.sessions import current_client

RUNS_IN_PICKER = 20
ALL_RUNS = "*"  # the picker's "All runs": every line of the app, whatever its run


def _history_row(runtime: dict[str, Any]) -> dict[str, Any]:
    records = runtime.get("records") or {}
    return {
        "started": short_time(runtime.get("started")),
        "ended": short_time(runtime.get("ended")),
        "duration": duration_text(runtime.get("duration_seconds")),
        "status": runtime.get("status", ""),
        "trigger": runtime.get("trigger", ""),
        "total": records.get("total"),
        "solved": records.get("solved"),
        "failed": records.get("failed"),
        "error": runtime.get("error") or "",
    }


def _date(value: str | None, tz: Any) -> str:
    parsed = parse_time(value)
    return parsed.astimezone(tz).strftime("%Y-%m-%d") if parsed else ""


def log_row(entry: dict[str, Any], tz: Any = None) -> dict[str, Any]:
    """An application log line in the spec's columns. *Core runtime* is the time a call of
    the core took (a FunctionLog row's ``runtime_seconds``): a log line has none (the grid
    shows a dash); the run it belongs to is named in the expanded line."""
    stamp = entry.get("timestamp")
    return {
        "id": str(entry.get("id", "")),
        "date": _date(stamp, tz or zone(None)),
        "level": entry.get("level", ""),
        "module": entry.get("module", ""),
        "function": entry.get("function", ""),
        "runtime": None,
        "run": entry.get("runtime") or "",
        "message": entry.get("message", ""),
        "timestamp": local_time(stamp, tz) + short_time(stamp)[16:],  # with seconds
        "timestamp_utc": utc_title(stamp),
    }


def function_row(call: dict[str, Any], tz: Any = None) -> dict[str, Any]:
    """A FunctionLog row in the same columns (core runtime: the call's seconds, a number,
    so the column sorts by it)."""
    stamp = call.get("started")
    size, solved, failed = call.get("task_size", 0), call.get("solved", 0), call.get("failed", 0)
    return {
        "date": _date(stamp, tz or zone(None)),
        "module": call.get("module", ""),
        "function": call.get("function_name", ""),
        "runtime": call.get("runtime_seconds"),
        "message": f"task size {size}: {solved} solved, {failed} failed",
        "timestamp": local_time(stamp, tz) + short_time(stamp)[16:],
        "timestamp_utc": utc_title(stamp),
    }


def run_options(runs: list[dict[str, Any]], tz: Any) -> list[dict[str, str]]:
    return [
        {
            "label": f"{local_time(r.get('started'), tz)} · {r.get('status', '')} · "
            f"{duration_text(r.get('duration_seconds')) or 'no end'}",
            "value": r["id"],
        }
        for r in runs
    ]


def register(app: dash.Dash) -> None:
    @app.callback(
        Output("detail-fields", "children"),
        Output("detail-error", "children"),
        Input("detail-app", "data"),
        Input("tick", "n_intervals"),
    )
    @needs_session
    def _fields(app_id: str | None, _: int | None) -> tuple[Any, str]:
        if not app_id:
            return [], ""
        try:
            detail = current_client().app(app_id)
        except ApiError as exc:
            return [], f"Could not load {app_id}: {exc.message}"
        return fields_form(detail_fields(detail)), ""

    @app.callback(
        Output("detail-tab-body", "children"),
        Input("detail-tabs", "value"),
        Input("detail-app", "data"),
        State("detail-run", "data"),
        State("user-tz", "data"),
    )
    @needs_session
    def _tab(tab: str | None, app_id: str | None, run: str | None, tz: str | None) -> Any:
        tab = tab or "logs"
        if tab == "performance":
            return _performance(app_id)
        if tab == "health":
            return _health(app_id)
        client = current_client()
        rows: list[dict[str, Any]] = []
        message = ""
        if app_id:
            try:
                runs = client.runtimes(app_id, limit=RUNS_IN_PICKER)
            except ApiError as exc:
                runs, message = [], f"Could not load the runs: {exc.message}"
            if tab == "logs":
                # the run the link named, else the last run, else every line of the app
                ids = [r["id"] for r in runs]
                chosen = run if run else (ids[0] if ids else None)
                options = run_options(runs, user_zone(client, tz))
                if run and run not in ids:
                    options.insert(0, {"label": run, "value": run})
                options.insert(0, {"label": "All runs", "value": ALL_RUNS})
                return logs_panel(options, chosen)
            rows = [_history_row(r) for r in runs]
        return [html.Div(message, className="error"), tab_grid(tab, rows)]

    @app.callback(
        Output("log-grid", "rowData"),
        Output("function-grid", "rowData"),
        Output("log-error", "children"),
        Input("log-run", "value"),
        Input("log-level", "value"),
        Input("log-search", "value"),
        State("detail-app", "data"),
        State("user-tz", "data"),
    )
    @needs_session
    def _logs(
        run: str | None,
        level: str | None,
        search: str | None,
        app_id: str | None,
        tz_name: str | None,
    ) -> Any:
        if not app_id:
            raise PreventUpdate
        client = current_client()
        tz = user_zone(client, tz_name)
        run = None if run == ALL_RUNS else run
        filters = {"runtime": run, "level": level, "search": (search or "").strip() or None}
        try:
            lines = client.logs(app_id, limit=500, **filters)
            calls = _calls(app_id, run) if run else []
        except ApiError as exc:
            return [], [], f"Could not load the logs: {exc.message}"
        return [log_row(e, tz) for e in lines], [function_row(c, tz) for c in calls], ""

    @app.callback(
        Output("log-full", "children"),
        Input("log-grid", "cellClicked"),
        State("log-grid", "rowData"),
        prevent_initial_call=True,
    )
    def _full(cell: dict[str, Any] | None, rows: list[dict[str, Any]] | None) -> str:
        row_id = str((cell or {}).get("rowId") or "")
        row = next((r for r in rows or [] if r.get("id") == row_id), None)
        if row is None:
            raise PreventUpdate
        where = ".".join(p for p in (row.get("module"), row.get("function")) if p)
        head = " ".join(p for p in (row["timestamp_utc"], row["level"], where) if p)
        run = f" · run {row['run']}" if row.get("run") else ""
        return f"{head}{run}\n{row['message']}"


def _calls(app_id: str, run: str) -> list[dict[str, Any]]:
    """The run's FunctionLog rows: the app's calls in the run's window, of that run."""
    client = current_client()
    detail = client.runtime(run)
    calls = client.function_logs(app_id, since=detail.get("started"), until=detail.get("ended"))
    return [c for c in calls if c.get("runtime_id") == run]


def _performance(app_id: str | None) -> list[Any]:
    """Charts of the app's functions over time above their totals, from one request."""
    performance: dict[str, Any] = {}
    message = ""
    if app_id:
        try:
            performance = current_client().app_performance(app_id)
        except ApiError as exc:
            message = f"Could not load the performance: {exc.message}"
    if message:
        runtime = task_size = charts.empty_figure("Could not load the performance")
    else:
        runtime, task_size = charts.app_performance_figures(performance)
    return [
        html.Div(message, className="error"),
        performance_charts(runtime, task_size),
        tab_grid("performance", performance.get("functions") or []),
    ]


HEALTH_RUNS = 30  # the runs drawn against the baseline (it is made of the last 20)


def _health(app_id: str | None) -> list[Any]:
    """The app's baseline and verdicts (``GET /apps/{id}/health``), its recent runs for the
    duration chart, and the notes on the runs the verdicts name."""
    if not app_id:
        return []
    client = current_client()
    try:
        health = client.app_health(app_id)
        runs = client.runtimes(app_id, limit=HEALTH_RUNS)
    except ApiError as exc:
        message = f"Could not load the health: {exc.message}"
        return [html.Div(message, className="error")]
    cards = []
    notes: dict[str, list[dict[str, Any]]] = {}  # per run: verdicts often share one
    for item in health.get("verdicts") or []:
        run = str((item.get("evidence") or {}).get("runtime") or "")
        if run and run not in notes:
            try:
                notes[run] = list(client.runtime(run).get("notes") or [])
            except ApiError:
                notes[run] = []  # the run was purged by retention: the verdict still shows
        cards.append(health_views.verdict_card(item, notes.get(run, [])))
    baseline = health.get("baseline") or {}
    thresholds = health.get("thresholds") or {}
    figure = charts.health_duration_figure(runs, baseline, thresholds.get("slow_factor"))
    history = [health_views.history_row(h) for h in health.get("history") or []]
    summary = health_views.baseline_text(baseline, thresholds)
    return [health_panel(summary, cards, figure, history)]
