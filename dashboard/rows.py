"""API records → the rows and texts the pages show (pure functions, no I/O)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dashboard.paths import app_path

# The Program Manager's filters: sidebar key → the API's query parameters.
VIEWS: dict[str, dict[str, str]] = {
    "all": {},
    "running": {"run_status": "RUNNING"},
    "disabled": {"disabled": "true"},
    "fatal": {"fatal_flag": "FATAL"},
    "services": {"is_service": "true"},
    "errors": {"run_status": "FAILED"},
    "unhealthy": {"health": "unhealthy"},
}
# One view per health verdict (docs/health.md), reached from the Agents & queues page's
# fleet health counts: /dashboard/apps/health-slow lists the apps holding ``slow`` now.
VERDICTS = ("slow", "stalled", "missed", "low_output", "failing")
SEVERITY = ("failing", "stalled", "missed", "slow", "low_output")  # health_text's order
VIEWS.update({f"health-{verdict}": {"health": verdict} for verdict in VERDICTS})
VIEW_LABELS = {
    "all": "All",
    "running": "Running",
    "disabled": "Disabled",
    "fatal": "Fatal",
    "services": "Services",
    "errors": "Errors",
    "unhealthy": "Unhealthy",
}
BULK_COMMANDS = ("ENABLE", "DISABLE", "START", "STOP", "RESTART")


def filters_for(view: str, group: str | None = None) -> dict[str, str]:
    """The ``/apps`` query for a sidebar entry (``view`` or a group)."""
    if group:
        return {"group": group}
    return dict(VIEWS.get(view, {}))


# The grid pages on the server: AG Grid's infinite row model asks for blocks of rows.
API_MAX_PER_PAGE = 100  # /apps accepts per_page 1..100 (web/validation.py PageQuery)
BLOCK_SIZE = 100  # the grid's cacheBlockSize: one block is one API page
# Grid columns the API can sort by (control/apps/services.py SORTABLE; same names).
SORTABLE_COLUMNS = frozenset(
    {"id", "group", "parent", "app", "last_run", "next_run", "run_status", "fatal_flag", "disabled"}
)
# Grid columns whose filter maps to an exact-match /apps parameter of the same name.
FILTERABLE_COLUMNS = frozenset({"group", "parent"})
DEFAULT_SORT = "id"


def pages_for(start_row: int, end_row: int) -> tuple[int, list[int], int, int]:
    """How to fetch rows ``[start_row, end_row)`` (at most the API's maximum page size of
    them): ``(per_page, pages, skip, count)``: get those pages, drop ``skip`` rows, keep
    ``count``. A block aligned to its size (the grid's are: ``cacheBlockSize``) is exactly
    one page; an unaligned range takes the smallest page size whose one page covers it, or
    two pages of the maximum size."""
    start = max(0, int(start_row))
    count = max(1, min(int(end_row) - start, API_MAX_PER_PAGE))
    for per_page in range(count, API_MAX_PER_PAGE + 1):
        page, skip = divmod(start, per_page)
        if skip + count <= per_page:
            return per_page, [page + 1], skip, count
    first, skip = divmod(start, API_MAX_PER_PAGE)
    return API_MAX_PER_PAGE, [first + 1, first + 2], skip, count


def sort_param(sort_model: list[dict[str, Any]] | None) -> str:
    """AG Grid's ``sortModel`` as the API's ``sort`` (``-next_run,id``); columns the API
    cannot sort by are dropped; no sort means by id."""
    terms = []
    for item in sort_model or []:
        column, direction = item.get("colId"), item.get("sort")
        if column in SORTABLE_COLUMNS and direction in {"asc", "desc"}:
            terms.append(f"-{column}" if direction == "desc" else str(column))
    return ",".join(terms) or DEFAULT_SORT


def column_filters(filter_model: dict[str, Any] | None) -> dict[str, str]:
    """The grid's column filters the API can apply (``equals`` on group or parent) as
    ``/apps`` parameters; the grid offers no other filter."""
    params: dict[str, str] = {}
    for column, model in (filter_model or {}).items():
        if column not in FILTERABLE_COLUMNS or not isinstance(model, dict):
            continue
        value = model.get("filter")
        if model.get("type") == "equals" and isinstance(value, str) and value.strip():
            params[column] = value.strip()
    return params


def merge_filters(base: dict[str, str], extra: dict[str, str]) -> dict[str, str] | None:
    """Both sets of exact-match filters at once; None when they contradict each other
    (group ``de`` from the sidebar and ``fr`` from the column: no app matches)."""
    merged = dict(base)
    for key, value in extra.items():
        if key in merged and merged[key] != value:
            return None
        merged[key] = value
    return merged


def parse_time(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def short_time(value: str | None) -> str:
    """``2025-01-15 07:30:00`` (UTC) from an API timestamp; empty for none."""
    parsed = parse_time(value)
    return parsed.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S") if parsed else ""


def utc_title(value: str | None) -> str:
    """The full value for a tooltip: ``2025-01-15 07:30:00 UTC``."""
    text = short_time(value)
    return f"{text} UTC" if text else ""


def zone(name: str | None) -> ZoneInfo:
    """The user's time zone (a per-user API setting); UTC when unknown."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_time(value: str | None, tz: ZoneInfo | None = None) -> str:
    """Compact, in the user's zone: ``01-15 08:30`` (month-day hour:minute)."""
    parsed = parse_time(value)
    return parsed.astimezone(tz or dt.UTC).strftime("%m-%d %H:%M") if parsed else ""


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def progress_text(progress: dict[str, Any] | None) -> str:
    """The spec's ``986/3000``; ``986`` without a total; empty without a count."""
    if not progress or progress.get("current") is None:
        return ""
    total = progress.get("total")
    return f"{progress['current']}/{total}" if total is not None else str(progress["current"])


def progress_percent(progress: dict[str, Any] | None) -> float | None:
    """How much of the bar to fill (0-100), from the API's ``percent``."""
    percent = (progress or {}).get("percent")
    return None if percent is None else max(0.0, min(100.0, float(percent)))


def app_row(app: dict[str, Any], tz: ZoneInfo | None = None) -> dict[str, Any]:
    """One row of the Program Manager's grid (the spec's columns), showing what the API
    says: *Last run* is its ``last_run`` (the current run while running), the ETA its
    ``progress.eta_seconds``; times compact in the user's zone, UTC in the tooltip."""
    last = app.get("last_run") or {}
    progress = app.get("progress") or {}
    return {
        "id": app["id"],
        "group": app.get("group", ""),
        "parent": app.get("parent", ""),
        "app": app.get("app", ""),
        "last_run": local_time(last.get("started"), tz),
        "last_run_utc": utc_title(last.get("started")),
        "last_status": last.get("status", ""),
        "next_run": local_time(app.get("next_run"), tz),
        "next_run_utc": utc_title(app.get("next_run")),
        "run_status": app.get("run_status", ""),
        "progress": progress_text(progress),
        "progress_percent": progress_percent(progress),
        "eta": duration_text(progress.get("eta_seconds")),
        "fatal_flag": app.get("fatal_flag", ""),
        "disabled": "yes" if app.get("disabled") else "no",
        "health": health_text(app.get("health")),
    }


def health_text(verdicts: list[str] | None) -> str:
    """The verdicts an app holds now, the most pressing first (``failing, slow``: the
    grid's badge shows the first), ``ok`` for none; empty when the API did not say."""
    if verdicts is None:
        return ""
    order = {verdict: n for n, verdict in enumerate(SEVERITY)}
    ranked = sorted((str(v) for v in verdicts), key=lambda v: (order.get(v, len(order)), v))
    return ", ".join(ranked) or "ok"


def agent_text(agent: dict[str, Any] | None) -> str:
    """Which agent holds the app (``GET /apps/{id}``'s ``agent``): "why is my app still
    SCHEDULED?" answered on the detail (docs/operations.md, Agents and queues)."""
    if not agent:
        return ""
    name = agent.get("name")
    if not name:
        return "no agent holds it"
    text = f"{name} ({'online' if agent.get('online') else 'offline'})"
    if agent.get("waiting_for_slot"):
        text += ", waiting for a free slot"
    return text


def view_label(view: str) -> str:
    """The title of a sidebar view, or of a verdict's view (``Health: low output``)."""
    if view.startswith("health-"):
        return "Health: " + view.removeprefix("health-").replace("_", " ")
    return VIEW_LABELS.get(view, "All")


RUN_STRIP_LENGTH = 10  # the run strip's squares: the last runs of each app


def run_cells(app_id: str, runs: list[dict[str, Any]], tz: ZoneInfo | None = None) -> list[Any]:
    """The run strip of one row, oldest first (the newest at the right, as in Airflow's
    grid): each run's status, a tooltip with its start and duration, and the link to its
    logs on the app's page."""
    base = app_path(app_id)
    cells = []
    for run in reversed(runs[:RUN_STRIP_LENGTH]):
        status = str(run.get("status") or "")
        took = duration_text(run.get("duration_seconds")) or "no end"
        cells.append(
            {
                "id": run["id"],
                "status": status,
                "title": f"{status} · {local_time(run.get('started'), tz)} · {took}",
                "href": f"{base}?run={quote(str(run['id']), safe='')}",
            }
        )
    return cells


def group_label(group: dict[str, Any]) -> str:
    """A sidebar entry: the group's name, and its fatal apps when it has any (``de · 2 fatal``)."""
    name = str(group["group"])
    return f"{name} · {group['fatal']} fatal" if group.get("fatal") else name


def job_summary(job: dict[str, Any]) -> str:
    """One line about a bulk job: ``START: completed, 2/2 (2 applied, 0 skipped, 0 failed)``."""
    parts = [f"{job.get('command', '')}: {job.get('status', '')}"]
    if job.get("matched") is not None:
        parts.append(f"{job.get('done', 0)}/{job['matched']}")
    counts = [f"{job[k]} {k}" for k in ("applied", "skipped", "failed") if job.get(k) is not None]
    text = ", ".join(parts)
    return f"{text} ({', '.join(counts)})" if counts else text


def detail_fields(app: dict[str, Any]) -> list[tuple[str, str]]:
    """The app's fields for the read-only form of the detail view."""
    progress = app.get("progress") or {}
    last = app.get("last_run") or app.get("last_runtime") or {}
    settings = app.get("settings") or {}
    return [
        ("App ID", app.get("id", "")),
        ("App name", app.get("app", "")),
        ("Group", app.get("group", "")),
        ("Parent", app.get("parent", "")),
        ("Description", app.get("description", "")),
        ("Schedule", app.get("schedule") or ""),
        ("Time zone", app.get("timezone", "")),
        ("Next run", short_time(app.get("next_run"))),
        ("Run status", app.get("run_status", "")),
        ("Command flag", app.get("command_flag", "")),
        ("Fatal flag", app.get("fatal_flag", "")),
        ("Fatal reason", app.get("fatal_reason") or ""),
        ("Disabled", "yes" if app.get("disabled") else "no"),
        ("Service", "yes" if app.get("is_service") else "no"),
        ("Consecutive failures", str(app.get("consecutive_failures", ""))),
        ("Health", health_text(app.get("health"))),
        ("Agent", agent_text(app.get("agent"))),
        ("Progress", progress_text(progress)),
        ("ETA", duration_text(progress.get("eta_seconds"))),
        ("Last run", short_time(last.get("started"))),
        ("Last run status", last.get("status", "")),
        ("Settings", json.dumps(settings, indent=2, sort_keys=True)),
        ("Updated", short_time(app.get("updated"))),
    ]
