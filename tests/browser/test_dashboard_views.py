"""Dashboard v2 (issue 13) in a real browser, views: search, sort, saved views and copied
links; every page without console errors; times in the user's time zone (the Settings
page's picker) with UTC on hover. The fleet: ``tests/browser/fleet.py``."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright import sync_api
from playwright.sync_api import expect

from dashboard.rows import local_time
from tests.browser.fleet import (
    ADMIN,
    DE,
    FR,
    RUN,
    RUNNING,
    TRAVELLER,
    VIEWER,
    Fleet,
    cell,
    center_row,
    signed_in_grid,
)
from tests.browser_pages import Traffic, screenshots, shot
from tests.live_dashboard import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.services]


# -- views ----------------------------------------------------------------------------------


def search(tab: sync_api.Page, text: str) -> None:
    """Type ``text`` into the search box and press Enter; once more if the address bar has
    not taken it within 10 s (on a loaded machine an Enter can land while the page's first
    callbacks are still in flight, as an operator would retype)."""
    for _ in range(2):
        tab.fill("#apps-search", "")
        tab.fill("#apps-search", text)
        tab.press("#apps-search", "Enter")
        try:
            tab.wait_for_url(re.compile(rf"q={re.escape(text)}"), timeout=10_000)
            return
        except sync_api.TimeoutError:
            continue


def test_search_sort_saved_view_and_copied_url_reproduce_the_view(
    fleet: Fleet, page: tuple[sync_api.Page, Traffic]
) -> None:
    tab, traffic = page
    signed_in_grid(tab, fleet)
    search(tab, "v2_fr")
    expect(tab).to_have_url(re.compile(r"\?q=v2_fr"))
    expect(center_row(tab, DE[0])).to_have_count(0)
    tab.locator(".ag-header-cell-text", has_text="App name").click()  # ascending
    tab.locator(".ag-header-cell-text", has_text="App name").click()  # descending
    expect(tab).to_have_url(re.compile(r"sort=-app"))
    expect(tab.locator('.ag-center-cols-container .ag-row[row-index="0"]')).to_have_attribute(
        "row-id", FR[1]
    )
    copied = tab.url
    tab.fill("#view-name", f"French {RUN}")
    tab.click("#save-view")
    expect(tab.locator("#view-status")).to_contain_text("Saved view")

    tab.goto(fleet.url)  # elsewhere, then the copied link
    expect(center_row(tab, DE[0])).to_be_visible()
    tab.goto(copied)
    expect(tab.locator("#apps-search")).to_have_value("v2_fr")
    first = tab.locator('.ag-center-cols-container .ag-row[row-index="0"]')
    expect(first).to_have_attribute("row-id", FR[1])
    expect(center_row(tab, DE[0])).to_have_count(0)

    tab.goto(fleet.url)  # and the saved view
    expect(center_row(tab, DE[0])).to_be_visible()
    tab.locator("#saved-views").click()
    tab.get_by_text(f"French {RUN}").click()
    expect(tab).to_have_url(re.compile(r"q=v2_fr.*sort=-app"))
    expect(first).to_have_attribute("row-id", FR[1])
    expect(center_row(tab, DE[0])).to_have_count(0)
    traffic.assert_clean()


def test_every_page_renders_without_console_errors(
    fleet: Fleet, page: tuple[sync_api.Page, Traffic]
) -> None:
    tab, traffic = page
    signed_in_grid(tab, fleet, ADMIN)
    for name, path, ready in [
        ("statistics", "statistics", "#throughput-chart .js-plotly-plot"),
        ("data-processor", "data-processor", "#page-title"),
        ("live-logs", "live-logs", "#live-lines"),
        ("app-detail-admin", f"app/{DE[0]}", "#edit-save"),
        ("group", "apps/group/fr", f'.ag-row[row-id="{FR[0]}"]'),
        ("settings", "settings", "#tz-input"),
    ]:
        tab.goto(fleet.url + path)
        expect(tab.locator(ready).first).to_be_visible()
        tab.wait_for_timeout(1500)  # a poll or two
        # nothing stays "Loading…" (Statistics did, when a tick re-triggered its load)
        expect(tab.locator("#page")).not_to_contain_text("Loading…")
        shot(tab, name)
    traffic.assert_clean()


def test_times_in_the_users_time_zone_with_utc_on_hover(
    fleet: Fleet, page: tuple[sync_api.Page, Traffic]
) -> None:
    tab, traffic = page
    with httpx.Client(base_url=fleet.live.api.url, trust_env=False) as http:
        token = http.post(
            "/api/v1/auth/token", json={"username": VIEWER, "password": PASSWORD}
        ).json()["data"]["access_token"]
        changed = http.patch(
            "/api/v1/settings",
            json={"timezone": "Asia/Tokyo"},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert changed.status_code == 200
    signed_in_grid(tab, fleet, VIEWER)
    started = fleet.api_get(VIEWER, f"/apps/{RUNNING}").json()["data"]["last_run"]["started"]
    tokyo = local_time(started, ZoneInfo("Asia/Tokyo"))
    assert tokyo != local_time(started)  # nine hours from UTC
    expect(cell(tab, RUNNING, "last_run")).to_have_text(tokyo)
    cell(tab, RUNNING, "last_run").hover()
    expect(tab.locator(".ag-tooltip")).to_contain_text(" UTC")
    traffic.assert_clean()


def test_time_zone_picker_saves_the_setting_and_the_grid_follows(
    fleet: Fleet, page: tuple[sync_api.Page, Traffic]
) -> None:
    tab, traffic = page
    signed_in_grid(tab, fleet, TRAVELLER)
    tab.locator("#nav-settings").click()
    expect(tab.locator("#page-title")).to_have_text("Settings")
    expect(tab.locator("#tz-input")).to_have_value("UTC")
    assert tab.locator("#tz-options option").count() > 300  # every IANA zone, on this page only
    tab.fill("#tz-input", "Mars/Olympus_Mons")
    tab.click("#tz-save")
    expect(tab.locator("#tz-status")).to_contain_text("Unknown time zone")
    expect(tab.locator("#tz-status")).to_have_class(re.compile("error"))
    tab.fill("#tz-input", "Asia/Kolkata")
    tab.click("#tz-save")
    expect(tab.locator("#tz-status")).to_contain_text("Saved")
    expect(tab.locator("#tz-now")).to_contain_text("(Asia/Kolkata)")
    screenshots(tab, "settings-saved")  # light and dark, each one's contrast checked
    assert fleet.api_get(TRAVELLER, "/settings").json()["data"]["timezone"] == "Asia/Kolkata"
    # back to the grid without a reload: its first request is answered, in the new zone
    tab.locator("#nav-all").click()
    started = fleet.api_get(TRAVELLER, f"/apps/{RUNNING}").json()["data"]["last_run"]["started"]
    kolkata = local_time(started, ZoneInfo("Asia/Kolkata"))
    assert kolkata != local_time(started)
    expect(cell(tab, RUNNING, "last_run")).to_have_text(kolkata)
    # and after a reload (the shell reads the setting again)
    tab.reload()
    expect(cell(tab, RUNNING, "last_run")).to_have_text(kolkata)
    traffic.assert_clean()
