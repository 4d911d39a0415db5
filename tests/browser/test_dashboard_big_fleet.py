"""The dashboard's grid over a fleet bigger than one block, in a real browser (Debian's
chromium through Playwright) against a real API and dashboard: AG Grid's infinite row
model pages, sorts and filters on the server, and each poll reloads only the blocks the
grid keeps."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from playwright import sync_api
from playwright.sync_api import expect

from control.auth.roles import Role
from tests.browser.fleet import center_row as row
from tests.browser_pages import Traffic, sign_in
from tests.live_dashboard import DashboardStack

pytestmark = [pytest.mark.browser, pytest.mark.services]

VIEWPORT = {"width": 1400, "height": 1000}  # the tab (tests/browser/conftest.py's page)
OPERATOR = f"operator-many-{uuid.uuid4().hex[:8]}@example.com"

# -- a fleet bigger than one block: the grid pages on the server ----------------------------

MANY = 250  # three blocks of 100 (the grid's cacheBlockSize, one API page each)
MANY_IDS = [f"many_{n:03d}" for n in range(MANY)]
POLL_WINDOW_S = 5.0  # DC_DASHBOARD_REFRESH_SECONDS is 1 in these tests: about 5 polls


@pytest.fixture(scope="module")
def big_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DashboardStack]:
    with DashboardStack(tmp_path_factory.mktemp("dashboard-many")) as live:
        live.add_user(OPERATOR, Role.OPERATOR)
        # names run the other way round from ids: sorting by name reverses the id order
        live.add_apps(
            [
                {"id": app_id, "app": f"name_{MANY - 1 - n:03d}", "group": "many"}
                for n, app_id in enumerate(MANY_IDS)
            ]
        )
        yield live


def app_list_requests(live: DashboardStack) -> int:
    """``GET /api/v1/apps`` requests the API has logged (the access log: path only)."""
    return live.api.stderr_text().count("GET /api/v1/apps 200")


def first_row_id(tab: sync_api.Page) -> str | None:
    return tab.locator('.ag-center-cols-container .ag-row[row-index="0"]').get_attribute("row-id")


def test_a_big_fleet_is_paged_sorted_and_polled_by_the_api(
    big_stack: DashboardStack, page: tuple[sync_api.Page, Traffic]
) -> None:
    tab, traffic = page
    sign_in(tab, big_stack.dashboard_url + "/dashboard/", OPERATOR)
    expect(tab.locator("#page-title")).to_have_text("Program Manager · All")
    expect(tab.locator("#apps-count")).to_have_text(f"{MANY} apps")  # meta.total
    for app_id in MANY_IDS[:3]:
        expect(row(tab, app_id)).to_be_visible()
    expect(tab.locator(".group-link", has_text="many")).to_be_visible()  # sidebar loaded
    # only the first block was fetched: rows of the third are not in the page
    expect(row(tab, MANY_IDS[-1])).to_have_count(0)

    # idle at the top: each poll reloads the one cached block, one API page
    before = app_list_requests(big_stack)
    tab.wait_for_timeout(POLL_WINDOW_S * 1000)
    polled = app_list_requests(big_stack) - before
    # every page of the fleet on every poll (the old grid) would be 3 per poll, ~15 here
    assert 1 <= polled <= POLL_WINDOW_S + 2, polled

    # a selection survives the polls, and the bulk buttons get its id
    left = ".ag-pinned-left-cols-container, .ag-center-cols-container"
    checkbox = tab.locator(left).locator(f'[row-id="{MANY_IDS[1]}"] .ag-selection-checkbox input')
    checkbox.first.check()
    tab.wait_for_timeout(2500)  # two polls
    expect(checkbox.first).to_be_checked()

    # scroll to the bottom: the last block is fetched, its last row shown
    viewport = tab.locator(".ag-body-viewport")
    viewport.evaluate("el => { el.scrollTop = el.scrollHeight; }")
    expect(row(tab, MANY_IDS[-1])).to_be_visible()
    scrolled = viewport.evaluate("el => el.scrollTop")
    assert scrolled > 0
    # a change at the API shows up at the next poll, without losing the scroll position
    big_stack.update_app(MANY_IDS[-1], fatal_flag="FATAL")
    expect(row(tab, MANY_IDS[-1]).locator('[col-id="fatal_flag"]')).to_have_text("FATAL")
    expect(row(tab, MANY_IDS[-1])).to_be_visible()
    assert viewport.evaluate("el => el.scrollTop") == scrolled
    # at most the grid's two cached blocks per poll, however far it was scrolled
    before = app_list_requests(big_stack)
    tab.wait_for_timeout(POLL_WINDOW_S * 1000)
    polled = app_list_requests(big_stack) - before
    assert 1 <= polled <= 2 * (POLL_WINDOW_S + 1), polled

    # the bulk buttons still get the row selected before scrolling away
    tab.locator(".bulk-start").click()
    expect(tab.locator("#bulk-confirm-text")).to_have_text("Start 1 app?")
    tab.locator("#bulk-confirm-yes").click()
    expect(tab.locator("#bulk-status")).to_contain_text("START: completed, 1/1")
    assert big_stack.command_flags([MANY_IDS[1], MANY_IDS[2]]) == {
        MANY_IDS[1]: "START",
        MANY_IDS[2]: "NONE",
    }

    # sort by name: the API's order (names run against ids), first and last rows swap
    viewport.evaluate("el => { el.scrollTop = 0; }")
    expect(row(tab, MANY_IDS[0])).to_be_visible()
    assert first_row_id(tab) == MANY_IDS[0]
    tab.locator('.ag-header-cell[col-id="app"] .ag-header-cell-label').click()
    expect(row(tab, MANY_IDS[-1])).to_be_visible()
    expect(tab.locator('.ag-center-cols-container .ag-row[row-index="0"]')).to_have_attribute(
        "row-id", MANY_IDS[-1]
    )
    expect(tab.locator('.ag-center-cols-container .ag-row[row-index="1"]')).to_have_attribute(
        "row-id", MANY_IDS[-2]
    )
    expect(row(tab, MANY_IDS[0])).to_have_count(0)  # now in the last block, not fetched
    expect(tab.locator("#apps-count")).to_have_text(f"{MANY} apps")
    # columns the API cannot sort by are not sortable
    sortable = re.compile(r"\bag-header-cell-sortable\b")
    expect(tab.locator('.ag-header-cell[col-id="app"]')).to_have_class(sortable)
    for column in ("progress", "eta"):
        expect(tab.locator(f'.ag-header-cell[col-id="{column}"]')).not_to_have_class(sortable)

    # the Parent and Group column filters are the API's exact parent= and group=
    set_filter = "m => window.dash_ag_grid.getApi('apps-grid').setFilterModel(m)"
    equals = {"filterType": "text", "type": "equals"}
    tab.evaluate(set_filter, {"parent": {**equals, "filter": "nobody"}})
    expect(tab.locator("#apps-count")).to_have_text("0 apps")
    expect(row(tab, MANY_IDS[-1])).to_have_count(0)
    tab.evaluate(set_filter, {"group": {**equals, "filter": "many"}})
    expect(tab.locator("#apps-count")).to_have_text(f"{MANY} apps")
    expect(row(tab, MANY_IDS[-1])).to_be_visible()
    traffic.assert_clean()
