"""Health and machinery records -> Dash components (pure functions of the API's records):
the verdicts on an app's detail (``GET /apps/{id}/health``, docs/health.md), and the
Agents & queues page (``GET /system/agents``, ``/system/queues``, ``/health/fleet``)."""

from __future__ import annotations

from typing import Any

from dash import dcc, html

from dashboard import paths
from dashboard.rows import VERDICTS, duration_text, short_time

# What each verdict means, in a line (docs/health.md's table).
VERDICT_MEANING = {
    "slow": "a run took (or is taking) longer than p95 x the slow factor",
    "stalled": "running and heart-beating, but no progress for a while",
    "missed": "the next run is past its grace period and no run started",
    "low_output": "the last completed run brought fewer records than usual",
    "failing": "consecutive failed runs, still below the fatal threshold",
}
SECONDS_KEYS = {
    "seconds",
    "threshold_seconds",
    "duration_p95",
    "quiet_seconds",
    "late_seconds",
    "grace_seconds",
}
TIME_KEYS = {"next_run", "last_progress", "heartbeat"}


def verdict_label(verdict: str) -> str:
    return verdict.replace("_", " ")


def evidence_text(evidence: dict[str, Any]) -> str:
    """A verdict's evidence in a line: ``seconds 1391 s (23m 11s), threshold_seconds …``;
    the run it concerns is named apart (``runtime``)."""
    parts = []
    for key in sorted(evidence):
        value = evidence[key]
        if key == "runtime" or value is None:
            continue
        if isinstance(value, bool):
            text = "yes" if value else "no"
        elif key in SECONDS_KEYS and isinstance(value, int | float):
            text = duration_text(float(value))
        elif key in TIME_KEYS and isinstance(value, str):
            text = short_time(value) + " UTC"
        elif isinstance(value, float):
            text = f"{value:g}"
        else:
            text = str(value)
        parts.append(f"{key.replace('_', ' ')}: {text}")
    return ", ".join(parts)


def baseline_text(baseline: dict[str, Any], thresholds: dict[str, Any]) -> str:
    """``Baseline of 20 runs: duration p50 4m 10s, p95 6m 02s, records p50 1200 · slow
    above p95 x 1.5``; what an app with too few runs still lacks."""
    runs = int(baseline.get("runs") or 0)
    if not runs:
        return "No baseline yet: no completed run."
    p50, p95 = baseline.get("duration_p50"), baseline.get("duration_p95")
    records = baseline.get("records_p50")
    head = f"Baseline of {runs} completed run{'s' if runs != 1 else ''}"
    figures = [
        f"duration p50 {duration_text(p50)}" if p50 is not None else "",
        f"p95 {duration_text(p95)}" if p95 is not None else "",
        f"records p50 {records:g}" if isinstance(records, int | float) else "",
    ]
    text = f"{head}: " + ", ".join(f for f in figures if f)
    slow = thresholds.get("slow_factor")
    low = thresholds.get("low_output_factor")
    rules = []
    if slow is not None:
        rules.append(f"slow above p95 x {slow:g}")
    if low is not None:
        rules.append(f"low output below p50 x {low:g}")
    minimum = thresholds.get("min_runs")
    if minimum is not None and runs < int(minimum):
        rules.append(f"judged from {int(minimum)} runs on")
    return text + (" · " + ", ".join(rules) if rules else "")


def verdict_card(item: dict[str, Any], notes: list[dict[str, Any]]) -> html.Div:
    """One verdict held now: its name, since when, its evidence, the run it concerns and
    the operators' notes on that run (what explains it)."""
    verdict = str(item.get("verdict", ""))
    evidence = item.get("evidence") or {}
    run = evidence.get("runtime")
    children: list[Any] = [
        html.Div(
            [
                html.Span(
                    verdict_label(verdict),
                    className=f"badge health-{verdict.replace('_', '-')}",
                ),
                html.Span(f" since {short_time(item.get('raised_at'))} UTC", className="muted"),
            ]
        ),
        html.Div(VERDICT_MEANING.get(verdict, ""), className="muted"),
        html.Div(evidence_text(evidence), className="verdict-evidence"),
    ]
    if run:
        children.append(html.Div(f"run {run}", className="muted verdict-run"))
    for note in notes:
        author = note.get("author") or ""
        children.append(
            html.Div(
                f"Note by {author}: {note.get('text', '')}" if author else note.get("text", ""),
                className="verdict-note",
            )
        )
    return html.Div(children, className=f"verdict-card verdict-{verdict}")


def history_row(item: dict[str, Any]) -> dict[str, Any]:
    """A verdict raised (and maybe cleared) for the history grid."""
    return {
        "verdict": verdict_label(str(item.get("verdict", ""))),
        "raised": short_time(item.get("raised_at")),
        "cleared": short_time(item.get("cleared_at")) or "holds",
        "evidence": evidence_text(item.get("evidence") or {}),
    }


# -- Agents & queues ------------------------------------------------------------------


def agent_row(agent: dict[str, Any]) -> dict[str, Any]:
    slots, busy = agent.get("slots"), agent.get("slots_busy")
    return {
        "name": agent.get("name", ""),
        "state": "online" if agent.get("online") else "offline",
        "host": agent.get("host") or "",
        "groups": ", ".join(agent.get("groups") or []),
        "slots": f"{busy}/{slots}" if slots is not None else "",
        "running": ", ".join(agent.get("running") or []),
        "queued": ", ".join(agent.get("queued") or []),
        "last_seen": short_time(agent.get("last_seen")),
        "seen_ago": duration_text(agent.get("seconds_since_seen")),
        "version": agent.get("version") or "",
    }


def _rate(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}/s"


def queue_row(queue: dict[str, Any]) -> dict[str, Any]:
    consumers = queue.get("consumers")
    return {
        "name": queue.get("name", ""),
        "kind": str(queue.get("kind", "")).replace("_", " "),
        "messages": int(queue.get("messages") or 0) if queue.get("exists", True) else 0,
        "consumers": "" if consumers is None else consumers,
        "ready": queue.get("ready"),
        "unacked": queue.get("unacknowledged"),
        "rates": " · ".join(
            r
            for r in (
                f"in {_rate(queue.get('publish_rate'))}"
                if queue.get("publish_rate") is not None
                else "",
                f"out {_rate(queue.get('deliver_rate'))}"
                if queue.get("deliver_rate") is not None
                else "",
            )
            if r
        ),
        "exists": "yes" if queue.get("exists", True) else "not declared",
    }


def outbox_text(outbox: dict[str, Any]) -> str:
    count = int(outbox.get("unpublished") or 0)
    if not count:
        return "Command outbox: empty (every accepted command was published)."
    oldest = short_time(outbox.get("oldest"))
    lag = duration_text(outbox.get("lag_seconds"))
    return f"Command outbox: {count} not yet published, the oldest from {oldest} UTC ({lag} ago)."


def fleet_tiles(fleet: dict[str, Any]) -> list[Any]:
    """The fleet's health counts as tiles, each a link to the apps holding the verdict."""
    verdicts = fleet.get("verdicts") or {}
    total, unhealthy = fleet.get("apps_total", 0), fleet.get("apps_unhealthy", 0)
    tiles: list[Any] = [
        dcc.Link(
            [html.Span(str(unhealthy), className="tile-count"), html.Span(f"unhealthy of {total}")],
            href=paths.view_path("unhealthy"),
            className="health-tile" + (" has-verdicts" if unhealthy else ""),
            id="fleet-unhealthy",
        )
    ]
    for verdict in VERDICTS:
        count = int((verdicts.get(verdict) or {}).get("count") or 0)
        tiles.append(
            dcc.Link(
                [html.Span(str(count), className="tile-count"), html.Span(verdict_label(verdict))],
                href=paths.view_path(f"health-{verdict}"),
                className="health-tile" + (" has-verdicts" if count else ""),
                id=f"fleet-{verdict}",
                title=VERDICT_MEANING[verdict],
            )
        )
    return tiles
