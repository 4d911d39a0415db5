"""Dashboard v2 (issue 13) in a real browser, the Program Manager's grid: all 11 columns at
1366 px, a running app's Last run and ETA as the API's, the run strip, bulk actions (the
dry-run count first, the API's refusal shown). The fleet: ``tests/browser/fleet.py``."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright import sync_api
from playwright.sync_api import expect

from dashboard.rows import duration_text, local_time
from tests.browser.fleet import (
    DE,
    FR,
    OPERATOR,
    RUNNING,
    SPEC_COLUMNS,
    STRIP_RUNS,
    VIEWPORT,
    Fleet,
    cell,
    select,
    signed_in_grid,
)
from tests.browser_pages import Traffic, shot
from tests.live_dashboard import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.services]


# -- the grid -----------------------------------------------------------------------------


def test_all_11_columns_fit_at_1366(fleet: Fleet, page: tuple[sync_api.Page, Traffic]) -> None:
    tab, traffic = page
    signed_in_grid(tab, fleet)
    expect(cell(tab, RUNNING, "progress")).to_contain_text("986/3000")
    shot(tab, "program-manager")
    for header in SPEC_COLUMNS:
        title = tab.locator(".ag-header-cell-text", has_text=re.compile(f"^{header}$"))
        expect(title).to_be_visible()
        box = title.bounding_box()
        assert box is not None
        assert box["x"] + box["width"] <= VIEWPORT["width"], f"{header} is off-screen: {box}"
    # no horizontal scrolling needed: the grid's centre fits its viewport
    overflow = tab.evaluate(
        "() => { const v = document.querySelector('#apps-grid .ag-center-cols-viewport');"
        " return v.scrollWidth - v.clientWidth; }"
    )
    assert overflow <= 1
    traffic.assert_clean()


def test_running_app_last_run_and_eta_equal_the_api_detail(
    fleet: Fleet, page: tuple[sync_api.Page, Traffic]
) -> None:
    tab, traffic = page
    signed_in_grid(tab, fleet)
    detail = fleet.api_get(OPERATOR, f"/apps/{RUNNING}").json()["data"]
    # the API's own numbers: the current run (ten minutes ago), not the previous one
    assert detail["last_run"]["status"] == "RUNNING"
    eta = duration_text(detail["progress"]["eta_seconds"])
    assert eta.endswith("m") or "m " in eta  # ~20 minutes, not hours
    expect(cell(tab, RUNNING, "last_run")).to_have_text(local_time(detail["last_run"]["started"]))
    expect(cell(tab, RUNNING, "eta")).to_have_text(eta)
    expect(cell(tab, RUNNING, "run_status").locator(".badge.status-running")).to_be_visible()
    traffic.assert_clean()


def test_run_strip_shows_the_last_runs_and_opens_a_runs_logs(
    fleet: Fleet, page: tuple[sync_api.Page, Traffic]
) -> None:
    tab, traffic = page
    signed_in_grid(tab, fleet)
    squares = cell(tab, DE[0], "runs").locator(".run-square")
    expect(squares).to_have_count(len(STRIP_RUNS))
    statuses = [squares.nth(i).get_attribute("data-status") for i in range(len(STRIP_RUNS))]
    assert statuses == [str(s) for s in STRIP_RUNS]  # oldest left, newest right
    colours = [
        squares.nth(i).evaluate("e => getComputedStyle(e).backgroundColor")
        for i in range(len(STRIP_RUNS))
    ]
    assert colours[0] == colours[2]  # both completed
    assert len({colours[0], colours[1], colours[3]}) == 3  # completed, failed, stopped differ
    failed = squares.nth(1)
    assert "FAILED" in (failed.get_attribute("title") or "")
    failed.click()
    expect(tab).to_have_url(re.compile(rf"/dashboard/app/{DE[0]}\?run="))
    expect(tab.locator("#log-grid")).to_contain_text("log line of run 1 (FAILED)")
    expect(tab.locator("#log-grid")).not_to_contain_text("log line of run 0")
    # core runtime: the time a core call took (FunctionLog), none for a log line
    expect(tab.locator("#log-grid .ag-row [col-id='runtime']").first).to_have_text("—")
    calls = tab.locator("#function-grid .ag-row")
    expect(calls).to_have_count(1)
    expect(calls.locator("[col-id='function']")).to_have_text("parse_pages")
    expect(calls.locator("[col-id='runtime']")).to_have_text("1.250 s")
    tab.locator("#log-grid .ag-row [col-id='message']").first.click()
    expect(tab.locator("#log-full")).to_contain_text("log line of run 1 (FAILED)")
    expect(tab.locator("#log-full")).to_contain_text(f"run {fleet.strip_run_ids[1]}")
    shot(tab, "app-detail-logs")
    traffic.assert_clean()


def test_failed_bulk_action_shows_the_apis_message(
    fleet: Fleet, page: tuple[sync_api.Page, Traffic]
) -> None:
    tab, traffic = page
    signed_in_grid(tab, fleet)
    # DC_BULK_MAX_APPS is 2 in this stack: three apps are refused by the API
    for app_id in DE:
        select(tab, app_id)
    tab.locator(".bulk-stop").click()
    with httpx.Client(base_url=fleet.live.api.url, trust_env=False) as http:
        token = http.post(
            "/api/v1/auth/token", json={"username": OPERATOR, "password": PASSWORD}
        ).json()["data"]["access_token"]
        refused = http.post(
            "/api/v1/bulk/command",
            json={"filter": {"app_ids": DE}, "command": "STOP", "dry_run": True},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert refused.status_code == 400
    message = refused.json()["error"]["message"]
    expect(tab.locator("#bulk-status")).to_contain_text(message)
    expect(tab.locator("#bulk-status")).to_have_class(re.compile("error"))
    traffic.assert_clean()


def test_bulk_asks_with_the_dry_run_count_before_it_runs(
    fleet: Fleet, page: tuple[sync_api.Page, Traffic]
) -> None:
    tab, traffic = page
    signed_in_grid(tab, fleet)
    for app_id in FR:
        select(tab, app_id)
    tab.locator(".bulk-disable").click()
    expect(tab.locator("#bulk-confirm-text")).to_have_text("Disable 2 apps?")
    shot(tab, "program-manager-confirm")
    assert set(fleet.live.command_flags(FR).values()) == {"NONE"}  # nothing sent yet
    tab.locator("#bulk-confirm-no").click()
    expect(tab.locator("#bulk-status")).to_contain_text("Cancelled")
    traffic.assert_clean()
