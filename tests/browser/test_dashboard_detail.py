"""Dashboard v2 (issue 13) in a real browser, the app detail: Start for an operator, no
actions for a viewer, the admin's schedule edit round trip and its 412 conflict. The fleet:
``tests/browser/fleet.py``."""

from __future__ import annotations

import re

import pytest
from playwright import sync_api
from playwright.sync_api import expect

from tests.browser.fleet import (
    ADMIN,
    DE,
    FR,
    VIEWER,
    Fleet,
    signed_in_grid,
)
from tests.browser_pages import Traffic, shot

pytestmark = [pytest.mark.browser, pytest.mark.services]


# -- app detail -----------------------------------------------------------------------------


def test_app_detail_start_works_for_an_operator(
    fleet: Fleet, page: tuple[sync_api.Page, Traffic]
) -> None:
    tab, traffic = page
    signed_in_grid(tab, fleet)
    tab.goto(fleet.url + f"app/{DE[2]}")
    expect(tab.locator("#page-title")).to_have_text(f"App {DE[2]}")
    tab.get_by_role("button", name="Start", exact=True).click()
    expect(tab.locator("#action-status")).to_contain_text("Start")
    expect(tab.locator("#action-status")).not_to_have_class(re.compile("error"))
    assert fleet.live.command_flags([DE[2]]) == {DE[2]: "START"}
    shot(tab, "app-detail-operator")
    traffic.assert_clean()


def test_app_detail_has_no_actions_for_a_viewer(
    fleet: Fleet, page: tuple[sync_api.Page, Traffic]
) -> None:
    tab, traffic = page
    signed_in_grid(tab, fleet, VIEWER)
    tab.goto(fleet.url + f"app/{DE[2]}")
    expect(tab.locator("#field-app-id")).to_have_value(DE[2])
    expect(tab.get_by_role("button", name="Start", exact=True)).to_have_count(0)
    expect(tab.locator("#edit-save")).to_have_count(0)
    traffic.assert_clean()


def test_schedule_edit_round_trips_and_a_stale_edit_shows_the_conflict(
    fleet: Fleet, page: tuple[sync_api.Page, Traffic]
) -> None:
    tab, traffic = page
    signed_in_grid(tab, fleet, ADMIN)
    tab.goto(fleet.url + f"app/{FR[0]}")
    expect(tab.locator("#edit-schedule")).to_have_value("*/30 * * * *")
    tab.fill("#edit-schedule", "*/5 * * * *")
    tab.click("#edit-save")
    expect(tab.locator("#edit-status")).to_contain_text("Saved")
    assert fleet.api_get(ADMIN, f"/apps/{FR[0]}").json()["data"]["schedule"] == "*/5 * * * *"
    expect(tab.locator("#field-schedule")).to_have_value("*/5 * * * *")
    # someone else changes the app: this form's ETag is now stale
    fleet.live.update_app(FR[0], version=99)
    tab.fill("#edit-schedule", "0 * * * *")
    tab.click("#edit-save")
    expect(tab.locator("#edit-status")).to_contain_text("Conflict")
    expect(tab.locator("#edit-status")).to_have_class(re.compile("error"))
    assert fleet.api_get(ADMIN, f"/apps/{FR[0]}").json()["data"]["schedule"] == "*/5 * * * *"
    shot(tab, "app-detail-conflict")
    tab.click("#edit-reload")
    expect(tab.locator("#edit-schedule")).to_have_value("*/5 * * * *")
    traffic.assert_clean()
