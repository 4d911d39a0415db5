"""The dashboard's health and machinery views (issue 14) as pure functions of the API's
records: the grid's health text, the detail's agent line, verdict evidence and baseline,
the duration chart with its baseline lines, the Agents & queues rows and summaries, and
the client calls behind them (``httpx.MockTransport``)."""

from __future__ import annotations

import time

import httpx

from dashboard import paths
from dashboard.api_client import ApiClient, Tokens
from dashboard.callbacks.agents_queues import agents_summary, queues_summary
from dashboard.charts import health_duration_figure
from dashboard.health_views import (
    agent_row,
    baseline_text,
    evidence_text,
    fleet_tiles,
    history_row,
    outbox_text,
    queue_row,
)
from dashboard.rows import agent_text, app_row, filters_for, health_text, view_label


def test_health_text_puts_the_most_pressing_verdict_first() -> None:
    assert health_text(None) == ""
    assert health_text([]) == "ok"
    assert health_text(["low_output", "slow"]) == "slow, low_output"
    assert health_text(["slow", "failing", "missed"]) == "failing, missed, slow"
    assert app_row({"id": "a", "health": ["stalled"]})["health"] == "stalled"


def test_health_views_filter_the_apps() -> None:
    assert filters_for("unhealthy") == {"health": "unhealthy"}
    assert filters_for("health-low_output") == {"health": "low_output"}
    assert view_label("unhealthy") == "Unhealthy"
    assert view_label("health-low_output") == "Health: low output"
    assert paths.route("/dashboard/agents-queues") == ("agents-queues", "")


def test_agent_text_answers_why_an_app_is_still_scheduled() -> None:
    assert agent_text(None) == ""
    assert agent_text({"name": None, "online": False}) == "no agent holds it"
    assert agent_text({"name": "a1", "online": True}) == "a1 (online)"
    waiting = {"name": "a1", "online": False, "waiting_for_slot": True}
    assert agent_text(waiting) == "a1 (offline), waiting for a free slot"


def test_evidence_and_baseline_in_words() -> None:
    evidence = {
        "seconds": 1391.2,
        "threshold_seconds": 1350.0,
        "factor": 1.5,
        "running": True,
        "runtime": "r1",
        "next_run": "2025-01-15T07:30:00Z",
    }
    assert evidence_text(evidence) == (
        "factor: 1.5, next run: 2025-01-15 07:30:00 UTC, running: yes, "
        "seconds: 23m 11s, threshold seconds: 22m 30s"
    )
    assert baseline_text({"runs": 0}, {}) == "No baseline yet: no completed run."
    base = {"runs": 2, "duration_p50": 60.0, "duration_p95": 90.0, "records_p50": 10.0}
    limits = {"slow_factor": 1.5, "low_output_factor": 0.5, "min_runs": 3}
    assert baseline_text(base, limits) == (
        "Baseline of 2 completed runs: duration p50 1m 00s, p95 1m 30s, records p50 10 · "
        "slow above p95 x 1.5, low output below p50 x 0.5, judged from 3 runs on"
    )
    row = history_row({"verdict": "low_output", "raised_at": "2025-01-15T07:30:00"})
    assert row["verdict"] == "low output"
    assert row["cleared"] == "holds"


def test_duration_chart_draws_the_baseline() -> None:
    runs = [
        {"started": f"2025-01-1{n}T07:00:00", "duration_seconds": d, "status": "COMPLETED"}
        for n, d in enumerate([60, 70, 200], start=1)
    ]
    base = {"duration_p50": 70.0, "duration_p95": 90.0}
    figure = health_duration_figure(runs, base, 1.5)
    names = [t["name"] for t in figure["data"]]
    assert names == ["completed (3)", "p50 70 s", "p95 90 s", "slow above 135 s"]
    assert figure["data"][-1]["y"] == [135.0, 135.0]
    assert figure["layout"]["yaxis"]["range"][1] >= 200
    empty = health_duration_figure([], base, 1.5)
    assert empty["data"] == []
    # no baseline yet: only the runs
    assert len(health_duration_figure(runs, {}, 1.5)["data"]) == 1


def test_agents_and_queues_rows() -> None:
    agent = {
        "name": "a1",
        "online": False,
        "host": "h",
        "groups": ["de", "fr"],
        "slots": 2,
        "slots_busy": 1,
        "running": ["x"],
        "queued": ["y", "z"],
        "seconds_since_seen": 75,
        "last_seen": "2025-01-15T07:30:00",
        "version": "1.0",
    }
    row = agent_row(agent)
    assert (row["state"], row["slots"], row["queued"], row["seen_ago"]) == (
        "offline",
        "1/2",
        "y, z",
        "1m 15s",
    )
    assert agents_summary([]) == "No agent has reported yet."
    assert agents_summary([agent]) == "0 of 1 agent online, 2 apps waiting for a slot."
    queue = {
        "name": "bulk.XQ",
        "kind": "dead_letter",
        "exists": True,
        "messages": 3,
        "consumers": None,
        "publish_rate": 1.5,
        "deliver_rate": None,
    }
    row = queue_row(queue)
    assert (row["kind"], row["messages"], row["consumers"], row["rates"]) == (
        "dead letter",
        3,
        "",
        "in 1.50/s",
    )
    assert queue_row({"name": "q", "exists": False, "messages": 0})["exists"] == "not declared"
    report = {
        "broker": "rabbitmq",
        "dramatiq_source": "management",
        "commands_source": None,
        "queues": [queue],
        "errors": [{"part": "commands", "error": "ConnectionError"}],
    }
    assert queues_summary(report) == (
        "Broker: rabbitmq; Dramatiq queues from management. "
        "Could not read: commands (ConnectionError)."
    )
    assert "no broker queue" in queues_summary({"broker": "memory", "queues": [], "errors": []})
    assert outbox_text({"unpublished": 0}).startswith("Command outbox: empty")
    late = {"unpublished": 4, "oldest": "2025-01-15T07:30:00", "lag_seconds": 90}
    assert outbox_text(late) == (
        "Command outbox: 4 not yet published, the oldest from 2025-01-15 07:30:00 UTC (1m 30s ago)."
    )
    tiles = fleet_tiles({"apps_total": 5, "apps_unhealthy": 1, "verdicts": {"slow": {"count": 1}}})
    assert [t.id for t in tiles][:2] == ["fleet-unhealthy", "fleet-slow"]
    assert tiles[1].href == paths.view_path("health-slow")


def test_the_client_calls_behind_the_pages() -> None:
    answers = {
        "/apps/a%2Fb/health": {"data": {"app": "a/b", "verdicts": []}},
        "/health/fleet": {"data": {"apps_total": 1}},
        "/system/agents": {"data": [{"name": "a1"}], "meta": {"online": 1}},
        "/system/queues": {"data": {"queues": [], "outbox": {}}},
    }
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.raw_path.decode().removeprefix("/api/v1")
        seen.append(path)
        return httpx.Response(200, json=answers[path])

    tokens = Tokens("A1", "R1", time.time() + 1800, "viewer")
    client = ApiClient("http://api.test", tokens, "v@x.io", transport=httpx.MockTransport(handler))
    assert client.app_health("a/b") == {"app": "a/b", "verdicts": []}
    assert client.fleet_health() == {"apps_total": 1}
    assert client.agents() == [{"name": "a1"}]
    assert client.queues() == {"queues": [], "outbox": {}}
    assert seen == list(answers)
