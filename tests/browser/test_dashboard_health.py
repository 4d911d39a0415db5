"""Fleet health and the machinery in the dashboard (issue 14, "Dashboard"), in a real
browser: the Program Manager's Health column and Unhealthy view, the app detail's Health
tab (verdicts with their evidence and the notes on their run, the baseline drawn on the
runs' durations) and the agent holding the app, the Agents & queues page.

The fleet is the shared one (``tests/browser/fleet.py``); this module adds health rows
(a baseline, verdicts, a run note) on ``DE[1]`` and two agents, and no app, so the other
modules' counts stay as they are. Each test writes a screenshot at 1366x768."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright import sync_api
from playwright.sync_api import expect

from control.agents.models import Agent
from control.apps.models import Apps
from control.clock import utcnow
from control.enums import RuntimeStatus
from control.health.models import AppBaseline, HealthVerdict
from control.runtimes.models import RunNote, Runtime
from tests.browser.fleet import DE, RUN, VIEWPORT, Fleet, cell, center_row, signed_in_grid
from tests.browser_pages import Traffic, screenshots, shot

pytestmark = [pytest.mark.browser, pytest.mark.services]

SICK = DE[1]
AGENT_UP = f"agent-de-{RUN}"
AGENT_DOWN = f"agent-fr-{RUN}"
NOTE = "upstream site down"
DURATIONS = [540, 600, 620, 660, 700, 1500]  # seconds; the last run is slow


@pytest.fixture(scope="module")
def health(fleet: Fleet) -> str:
    """Runs of ``SICK`` and its baseline, ``slow`` and ``low_output`` held, ``failing``
    raised and cleared, a note on the slow run, and two agents (one offline). The id of
    the slow run."""
    live = fleet.live
    now = utcnow().replace(microsecond=0)
    db, ctx = live._bound([Apps, Runtime, RunNote, AppBaseline, HealthVerdict, Agent])
    with ctx, live._writing(db):
        app = Apps.get_by_id(SICK)
        ids = []
        for n, seconds in enumerate(DURATIONS):
            started = now - dt.timedelta(days=len(DURATIONS) - n, minutes=30)
            run = Runtime.create(
                id=f"{started:%Y%m%d_%H%M%S}_{SICK}",
                app=app,
                started=started,
                ended=started + dt.timedelta(seconds=seconds),
                status=RuntimeStatus.COMPLETED,
                records_total=1000 if n < len(DURATIONS) - 1 else 120,
                records_solved=1000 if n < len(DURATIONS) - 1 else 120,
            )
            ids.append(run.id)
        slow_run = ids[-1]
        slow = {
            "seconds": 1500.0,
            "threshold_seconds": 1038.0,
            "duration_p95": 692.0,
            "factor": 1.5,
            "running": False,
        }
        low_output = {
            "records": 120,
            "threshold_records": 500.0,
            "records_p50": 1000.0,
            "factor": 0.5,
        }
        RunNote.create(runtime=slow_run, text=NOTE, author="operator@example.com")
        AppBaseline.create(
            app=app,
            samples=[[i, s, 1000] for i, s in zip(ids[:-1], DURATIONS[:-1], strict=True)],
            runs=5,
            duration_p50=620.0,
            duration_p95=692.0,
            records_p50=1000.0,
            # the last run's verdicts, as run_ended records them: the periodic evaluator
            # of the live server keeps the two verdicts below open instead of clearing them
            last_run={
                "runtime": slow_run,
                "status": "COMPLETED",
                "seconds": float(DURATIONS[-1]),
                "records": 120,
                "ended": f"{now:%Y-%m-%dT%H:%M:%S}",
                "slow": slow,
                "low_output": low_output,
            },
            updated=now,
        )
        raised = now - dt.timedelta(hours=2)
        HealthVerdict.create(
            app=app,
            verdict="slow",
            raised_at=raised,
            evidence=slow | {"runtime": slow_run},
        )
        HealthVerdict.create(
            app=app,
            verdict="low_output",
            raised_at=raised,
            evidence=low_output | {"runtime": slow_run},
        )
        HealthVerdict.create(
            app=app,
            verdict="failing",
            raised_at=now - dt.timedelta(days=3),
            cleared_at=now - dt.timedelta(days=2),
            evidence={"consecutive_failures": 2, "fatal_after": 5, "runtime": ids[2]},
        )
        # a heartbeat stamped a little ahead: online for the whole test, however slow
        Agent.create(
            name=AGENT_UP,
            host="collector-1",
            groups=["de"],
            slots=2,
            busy=2,
            running=[DE[0], SICK],
            queued=[DE[2]],
            version="1.4.0",
            started=now - dt.timedelta(hours=5),
            last_seen=now + dt.timedelta(minutes=10),
        )
        Agent.create(
            name=AGENT_DOWN,
            host="collector-2",
            groups=["fr"],
            slots=4,
            busy=0,
            running=[],
            queued=[],
            version="1.3.2",
            started=now - dt.timedelta(days=1),
            last_seen=now - dt.timedelta(hours=1),
        )
    db.close()
    return slow_run


def test_health_column_and_the_unhealthy_view(
    fleet: Fleet, health: str, page: tuple[sync_api.Page, Traffic]
) -> None:
    tab, traffic = page
    signed_in_grid(tab, fleet)
    badge = cell(tab, SICK, "health").locator(".badge")
    expect(badge).to_have_text("slow +1")
    expect(badge).to_have_attribute("title", "slow, low_output")
    expect(cell(tab, DE[0], "health")).to_have_text("ok")
    # the whole grid still fits 1366 px: the Health header on screen, no side scrolling
    title = tab.locator(".ag-header-cell-text", has_text=re.compile("^Health$"))
    box = title.bounding_box()
    assert box is not None
    assert box["x"] + box["width"] <= VIEWPORT["width"], box
    overflow = tab.evaluate(
        "() => { const v = document.querySelector('#apps-grid .ag-center-cols-viewport');"
        " return v.scrollWidth - v.clientWidth; }"
    )
    assert overflow <= 1, f"the grid scrolls sideways by {overflow} px"
    screenshots(tab, "program-manager-health")
    tab.click("#nav-unhealthy")
    expect(tab.locator("#page-title")).to_have_text("Program Manager · Unhealthy")
    expect(center_row(tab, SICK)).to_be_visible()
    expect(tab.locator("#apps-count")).to_have_text("1 app")
    expect(center_row(tab, DE[0])).to_have_count(0)
    # a verdict's own view, as the Agents & queues page links it
    tab.goto(fleet.url + "apps/health-low_output")
    expect(tab.locator("#page-title")).to_have_text("Program Manager · Health: low output")
    expect(center_row(tab, SICK)).to_be_visible()
    expect(tab.locator("#apps-count")).to_have_text("1 app")
    traffic.assert_clean()


def test_app_detail_shows_the_verdicts_and_the_baseline(
    fleet: Fleet, health: str, page: tuple[sync_api.Page, Traffic]
) -> None:
    tab, traffic = page
    signed_in_grid(tab, fleet)
    tab.goto(fleet.url + f"app/{SICK}")
    expect(tab.locator("#field-health")).to_have_value("slow, low_output")
    expect(tab.locator("#field-agent")).to_have_value(f"{AGENT_UP} (online)")
    tab.click("#tab-health")
    verdicts = tab.locator("#health-verdicts")
    expect(verdicts.locator(".verdict-card")).to_have_count(2)
    slow = verdicts.locator(".verdict-slow")
    expect(slow).to_contain_text("threshold seconds: 17m 18s")
    expect(slow).to_contain_text(f"run {health}")
    expect(slow).to_contain_text(NOTE)
    expect(verdicts.locator(".verdict-low_output")).to_contain_text("records: 120")
    expect(tab.locator("#health-baseline")).to_contain_text(
        "Baseline of 5 completed runs: duration p50 10m 20s, p95 11m 32s, records p50 1000"
    )
    chart = tab.locator("#health-duration-chart")
    for legend in ("p50 620 s", "p95 692 s", "slow above 1038 s"):
        expect(chart.locator(".legendtext", has_text=legend)).to_be_visible()
    expect(chart.locator(".scatterlayer .point")).to_have_count(len(DURATIONS))
    history = tab.locator("#health-history-grid")
    expect(history.locator(".ag-row")).to_have_count(3)
    expect(history.locator(".ag-row", has_text="failing")).to_contain_text("consecutive failures")
    screenshots(tab, "app-detail-health")
    history.scroll_into_view_if_needed()
    shot(tab, "app-detail-health-history")
    # the app waiting for a slot says so on its own detail
    tab.goto(fleet.url + f"app/{DE[2]}")
    expect(tab.locator("#field-agent")).to_have_value(
        f"{AGENT_UP} (online), waiting for a free slot"
    )
    traffic.assert_clean()


def test_agents_and_queues_page(
    fleet: Fleet, health: str, page: tuple[sync_api.Page, Traffic]
) -> None:
    tab, traffic = page
    signed_in_grid(tab, fleet)
    tab.click("#nav-agents")
    expect(tab.locator("#page-title")).to_have_text("Agents & queues")
    expect(tab.locator("#fleet-unhealthy")).to_contain_text("1")
    expect(tab.locator("#fleet-slow .tile-count")).to_have_text("1")
    expect(tab.locator("#fleet-missed .tile-count")).to_have_text("0")
    agents = tab.locator("#agents-grid")
    up = agents.locator(f'.ag-row[row-id="{AGENT_UP}"]')
    expect(up.locator('[col-id="state"]')).to_have_text("online")
    expect(up.locator('[col-id="slots"]')).to_have_text("2/2")
    expect(up.locator('[col-id="queued"]')).to_have_text(DE[2])
    down = agents.locator(f'.ag-row[row-id="{AGENT_DOWN}"]')
    expect(down.locator('[col-id="state"]')).to_have_text("offline")
    expect(tab.locator("#agents-summary")).to_contain_text("1 app waiting for a slot")
    expect(tab.locator("#outbox-summary")).to_contain_text("Command outbox")
    expect(tab.locator("#queues-summary")).to_contain_text("Broker")
    screenshots(tab, "agents-queues")
    # a tile opens the apps holding its verdict
    tab.click("#fleet-slow")
    expect(tab.locator("#page-title")).to_have_text("Program Manager · Health: slow")
    expect(center_row(tab, SICK)).to_be_visible()
    traffic.assert_clean()
