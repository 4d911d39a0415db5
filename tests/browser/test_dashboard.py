"""The dashboard in a real browser: Debian's chromium through Playwright, against a real API
(``dcctl serve``) and a real dashboard (``dcctl dashboard``) on free ports of 127.0.0.1.

Live log lines are published into Redis, as an agent or worker would (the API's event bus),
so this module needs the real Redis as well as the browser.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright import sync_api
from playwright.sync_api import expect

from control.auth.roles import Role
from control.db.models import utcnow
from control.enums import PipelineStatus, RuntimeStatus
from control.events import Event, EventType
from control.events.redis_bus import RedisBus
from tests.live_dashboard import PASSWORD, DashboardStack
from tests.live_server import HOST

pytestmark = [pytest.mark.browser, pytest.mark.services]

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
REDIS_URL = "redis://127.0.0.1:6379/13"
TIMEOUT_MS = 15_000
expect.set_options(timeout=TIMEOUT_MS)
# Fresh accounts per run: failed sign-ins are counted per account in the shared Redis.
RUN = uuid.uuid4().hex[:8]
OPERATOR = f"operator-{RUN}@example.com"
VIEWER = f"viewer-{RUN}@example.com"
VICTIM = f"victim-{RUN}@example.com"
DE = ["dash_de_alpha", "dash_de_beta"]
FR = ["dash_fr_gamma", "dash_fr_delta"]
# charted data: two document types in the last hour, a third only in the last 24 hours;
# three function names (two of them DE[0]'s); two runs of DE[0], one failed
RECENT_TYPES = ["contract", "invoice"]
OLDER_TYPE = "receipt"
DE0_FUNCTIONS = ["fetch", "parse"]


@dataclass
class Stack:
    live: DashboardStack
    channel: str

    @property
    def url(self) -> str:
        return self.live.dashboard_url + "/dashboard/"

    def publish_log(self, app: str, message: str) -> None:
        bus = RedisBus(REDIS_URL, channel=self.channel)
        try:
            assert bus.publish(
                Event.of(
                    EventType.LOG_ENTRY,
                    {"app": app, "level": "WARNING", "level_no": 30, "message": message},
                )
            )
        finally:
            bus.close(timeout=10)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("dashboard-browser")
    channel = f"dc:test:dashboard:{uuid.uuid4().hex}"
    with DashboardStack(root, DC_REDIS_URL=REDIS_URL, DC_EVENTS_CHANNEL=channel) as live:
        live.add_user(OPERATOR, Role.OPERATOR)
        live.add_user(VIEWER, Role.VIEWER)
        live.add_user(VICTIM, Role.VIEWER)
        live.add_apps([{"id": i, "app": i, "group": "de"} for i in DE])
        live.add_apps([{"id": i, "app": i, "group": "fr", "parent": "gouv"} for i in FR])
        live.add_log(DE[0], "stored log line of alpha")
        seed_charted_data(live)
        yield Stack(live, channel)


def seed_charted_data(live: DashboardStack) -> None:
    now = utcnow()

    def ago(minutes: int) -> dt.datetime:
        return now - dt.timedelta(minutes=minutes)

    tasks = [
        {"app": DE[0], "document_type": t, "status": status, "created": ago(10)}
        for t in RECENT_TYPES
        for status in (PipelineStatus.COMPLETED, PipelineStatus.COMPLETED, PipelineStatus.FAILED)
    ]
    tasks.append(
        {"app": FR[0], "document_type": OLDER_TYPE, "status": "COMPLETED", "created": ago(180)}
    )
    live.add_pipeline_tasks(tasks)
    calls = [
        {"app": DE[0], "function_name": name, "started": ago(minutes), "runtime_seconds": s}
        for name in DE0_FUNCTIONS
        for minutes, s in ((150, 1.5), (30, 2.5))
    ]
    calls[-1]["runtime_seconds"] = 0.5  # parse got faster
    calls.append(
        {"app": FR[0], "function_name": "upload", "started": ago(20), "runtime_seconds": 4.0}
    )
    live.add_function_logs([{**c, "task_size": 10, "solved": 9, "failed": 1} for c in calls])
    live.add_runtimes(
        DE[0],
        [
            {"started": ago(120), "status": RuntimeStatus.COMPLETED},
            {"started": ago(40), "status": RuntimeStatus.FAILED, "error": "boom"},
        ],
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[sync_api.Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run ops/install-browser.sh (make browser)")
    with sync_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        yield launched
        launched.close()


@dataclass
class Traffic:
    requests: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)
    websockets: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        urls = self.requests + self.websockets
        off = [u for u in urls if urlsplit(u).scheme not in {"data", "blob"}]
        off = [u for u in off if urlsplit(u).hostname != HOST]
        assert off == [], f"requests left 127.0.0.1: {off}"
        assert self.csp_violations == [], self.csp_violations
        assert self.page_errors == [], self.page_errors
        assert self.not_found == [], self.not_found
        assert self.console_errors == [], self.console_errors


@pytest.fixture
def page(browser: sync_api.Browser) -> Iterator[tuple[sync_api.Page, Traffic]]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    traffic = Traffic()

    def on_console(message: sync_api.ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            traffic.csp_violations.append(message.text)
        elif message.type == "error" and "401" not in message.text:
            traffic.console_errors.append(message.text)

    tab.on("request", lambda r: traffic.requests.append(r.url))
    tab.on("response", lambda r: traffic.not_found.append(r.url) if r.status == 404 else None)
    tab.on("console", on_console)
    tab.on("websocket", lambda ws: traffic.websockets.append(ws.url))
    tab.on("pageerror", lambda e: traffic.page_errors.append(str(e)))
    yield tab, traffic
    context.close()


def sign_in(tab: sync_api.Page, stack: Stack, email: str, password: str = PASSWORD) -> None:
    tab.goto(stack.url)
    expect(tab).to_have_url(re.compile(r"/dashboard/login"))
    tab.fill("#email", email)
    tab.fill("#password", password)
    tab.click("#login-submit")


def row(tab: sync_api.Page, app_id: str) -> sync_api.Locator:
    return tab.locator(f'.ag-center-cols-container .ag-row[row-id="{app_id}"]')


def wait_for_grid(tab: sync_api.Page, ids: list[str]) -> None:
    for app_id in ids:
        expect(row(tab, app_id)).to_be_visible()


def test_wrong_password_shows_an_error(stack: Stack, page: tuple[sync_api.Page, Traffic]) -> None:
    tab, traffic = page
    sign_in(tab, stack, VICTIM, "wrong password")
    expect(tab.locator("#login-error")).to_have_text("Wrong email or password.")
    expect(tab).to_have_url(re.compile(r"/dashboard/login"))
    traffic.assert_clean()


def test_operator_sees_the_fleet_and_filters_by_group(
    stack: Stack, page: tuple[sync_api.Page, Traffic]
) -> None:
    tab, traffic = page
    sign_in(tab, stack, OPERATOR)
    expect(tab.locator("#page-title")).to_have_text("Program Manager · All")
    wait_for_grid(tab, DE + FR)
    expect(tab.locator("#apps-count")).to_have_text("4 apps")
    expect(tab.locator("#whoami")).to_contain_text("operator")
    for header in ("App ID", "Group", "Parent", "App name", "Last run", "Next run"):
        expect(tab.locator(".ag-header-cell-text", has_text=header).first).to_be_visible()

    tab.locator(".group-link", has_text="fr").click()
    expect(tab.locator("#page-title")).to_have_text("Program Manager · Group fr")
    expect(tab.locator("#apps-count")).to_have_text("2 apps")
    wait_for_grid(tab, FR)
    expect(row(tab, DE[0])).to_have_count(0)
    traffic.assert_clean()


def test_selecting_two_rows_and_start_creates_a_bulk_job(
    stack: Stack, page: tuple[sync_api.Page, Traffic]
) -> None:
    tab, traffic = page
    sign_in(tab, stack, OPERATOR)
    wait_for_grid(tab, DE + FR)
    left = ".ag-pinned-left-cols-container, .ag-center-cols-container"
    for app_id in DE:
        tab.locator(left).locator(f'[row-id="{app_id}"] .ag-selection-checkbox input').first.check()
    tab.locator(".bulk-start").click()
    expect(tab.locator("#bulk-status")).to_contain_text("START: completed, 2/2")
    assert stack.live.command_flags(DE) == {DE[0]: "START", DE[1]: "START"}
    assert set(stack.live.command_flags(FR).values()) == {"NONE"}
    traffic.assert_clean()


def test_opening_an_app_shows_its_detail(stack: Stack, page: tuple[sync_api.Page, Traffic]) -> None:
    tab, traffic = page
    sign_in(tab, stack, OPERATOR)
    wait_for_grid(tab, DE)
    row(tab, DE[0]).locator('[col-id="id"]').click()
    expect(tab).to_have_url(re.compile(rf"/dashboard/app/{DE[0]}$"))
    expect(tab.locator("#page-title")).to_have_text(f"App {DE[0]}")
    expect(tab.locator("#field-group")).to_have_value("de")
    expect(tab.locator("#field-app-id")).to_have_value(DE[0])
    expect(tab.get_by_text("stored log line of alpha")).to_be_visible()
    tab.get_by_text("History", exact=True).click()
    expect(tab.locator(".ag-header-cell-text", has_text="Duration")).to_be_visible()
    traffic.assert_clean()


def chart(tab: sync_api.Page, graph_id: str) -> sync_api.Locator:
    """The plotly plot rendered inside a ``dcc.Graph``."""
    return tab.locator(f"#{graph_id} .js-plotly-plot")


def test_statistics_page_charts_the_period(
    stack: Stack, page: tuple[sync_api.Page, Traffic]
) -> None:
    tab, traffic = page
    sign_in(tab, stack, OPERATOR)
    expect(tab.locator("#page-title")).to_contain_text("Program Manager")
    tab.locator("#nav-statistics").click()
    expect(tab.locator("#page-title")).to_have_text("Statistics")

    # throughput: stacked bars (completed, failed, open), one bar per document type
    throughput = chart(tab, "throughput-chart")
    all_types = sorted([*RECENT_TYPES, OLDER_TYPE])
    expect(throughput.locator(".barlayer .trace")).to_have_count(3)
    expect(throughput.locator(".barlayer .trace").first.locator(".point")).to_have_count(
        len(all_types)
    )
    expect(throughput.locator(".xtick text")).to_have_text(all_types)
    # function trends: one line per function name of the fleet
    trends = chart(tab, "trends-chart")
    expect(trends.locator(".scatterlayer .trace")).to_have_count(len(DE0_FUNCTIONS) + 1)
    expect(trends.locator(".legendtext")).to_have_text([*DE0_FUNCTIONS, "upload"])
    # runs: one marker series per outcome, one marker per run
    runs = chart(tab, "runtimes-chart")
    expect(runs.locator(".scatterlayer .trace")).to_have_count(2)
    expect(runs.locator(".scatterlayer .point")).to_have_count(2)
    expect(runs.locator(".legendtext")).to_have_text(["completed (1)", "failed (1)"])
    # the tables are still below the charts
    expect(tab.locator("#throughput-grid .ag-row")).to_have_count(len(all_types))

    # the last hour: the older document type, the older runs and calls drop out
    tab.get_by_label("Last hour").check()
    expect(throughput.locator(".xtick text")).to_have_text(RECENT_TYPES)
    expect(throughput.locator(".barlayer .trace").first.locator(".point")).to_have_count(
        len(RECENT_TYPES)
    )
    expect(runs.locator(".scatterlayer .point")).to_have_count(1)
    expect(tab.locator("#throughput-grid .ag-row")).to_have_count(len(RECENT_TYPES))
    traffic.assert_clean()


def test_app_performance_tab_charts_its_functions(
    stack: Stack, page: tuple[sync_api.Page, Traffic]
) -> None:
    tab, traffic = page
    sign_in(tab, stack, OPERATOR)
    expect(tab.locator("#page-title")).to_contain_text("Program Manager")
    tab.goto(stack.url + f"app/{DE[0]}")
    expect(tab.locator("#page-title")).to_have_text(f"App {DE[0]}")
    tab.get_by_text("Performance", exact=True).click()
    for graph_id in ("perf-runtime-chart", "perf-size-chart"):
        plot = chart(tab, graph_id)
        expect(plot.locator(".scatterlayer .trace")).to_have_count(len(DE0_FUNCTIONS))
        expect(plot.locator(".legendtext")).to_have_text(DE0_FUNCTIONS)
        expect(plot.locator(".scatterlayer .point").first).to_be_attached()
    expect(tab.locator("#detail-grid-performance .ag-row")).to_have_count(len(DE0_FUNCTIONS))
    traffic.assert_clean()


def test_live_log_panel_shows_published_lines(
    stack: Stack, page: tuple[sync_api.Page, Traffic]
) -> None:
    tab, traffic = page
    sign_in(tab, stack, OPERATOR)
    expect(tab.locator("#page-title")).to_contain_text("Program Manager")
    tab.locator("#nav-live-logs").click()
    expect(tab.locator("#live-status")).to_contain_text("live", timeout=TIMEOUT_MS)
    # the backfill brought the stored line
    expect(tab.locator("#live-lines")).to_contain_text("stored log line of alpha")
    stack.publish_log(FR[0], "pushed while the page is open")
    expect(tab.locator("#live-lines")).to_contain_text("pushed while the page is open")
    assert traffic.websockets == [f"{stack.live.api.url.replace('http', 'ws', 1)}/api/v1/ws/logs"]
    traffic.assert_clean()


def test_viewer_gets_no_bulk_buttons(stack: Stack, page: tuple[sync_api.Page, Traffic]) -> None:
    tab, traffic = page
    sign_in(tab, stack, VIEWER)
    wait_for_grid(tab, DE + FR)
    expect(tab.locator("#whoami")).to_contain_text("viewer")
    expect(tab.locator(".bulk-button")).to_have_count(0)
    traffic.assert_clean()


def test_logout_returns_to_login(stack: Stack, page: tuple[sync_api.Page, Traffic]) -> None:
    tab, traffic = page
    sign_in(tab, stack, OPERATOR)
    wait_for_grid(tab, DE)
    tab.click("#logout")
    expect(tab).to_have_url(re.compile(r"/dashboard/login$"))
    tab.goto(stack.url + "statistics")
    expect(tab).to_have_url(re.compile(r"/dashboard/login\?next=/dashboard/statistics"))
    traffic.assert_clean()


def test_security_headers_and_cross_origin_posts(stack: Stack) -> None:
    with httpx.Client(trust_env=False) as http:
        login_page = http.get(stack.url + "login")
        headers = login_page.headers
        assert headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"
        csp = headers["content-security-policy"]
        assert "script-src 'self' 'sha256-" in csp
        assert "unsafe-eval" not in csp
        assert "frame-ancestors 'none'" in csp
        forged = http.post(
            stack.url + "login",
            data={"email": OPERATOR, "password": PASSWORD},
            headers={"Origin": "http://evil.example"},
        )
        assert forged.status_code == 403
        ok = http.post(
            stack.url + "login",
            data={"email": OPERATOR, "password": PASSWORD},
            headers={"Origin": stack.live.dashboard_url},
        )
        assert ok.status_code == 303
        cookie = ok.headers["set-cookie"]
        assert "HttpOnly" in cookie
        assert "SameSite=Strict" in cookie
        assert "access_token" not in cookie


# -- a fleet bigger than one block: the grid pages on the server ----------------------------

MANY = 250  # three blocks of 100 (the grid's cacheBlockSize, one API page each)
MANY_IDS = [f"many_{n:03d}" for n in range(MANY)]
POLL_WINDOW_S = 5.0  # DC_DASHBOARD_REFRESH_SECONDS is 1 in these tests: about 5 polls


@pytest.fixture(scope="module")
def big_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("dashboard-many")
    channel = f"dc:test:dashboard:{uuid.uuid4().hex}"
    with DashboardStack(root, DC_REDIS_URL=REDIS_URL, DC_EVENTS_CHANNEL=channel) as live:
        live.add_user(OPERATOR, Role.OPERATOR)
        # names run the other way round from ids: sorting by name reverses the id order
        live.add_apps(
            [
                {"id": app_id, "app": f"name_{MANY - 1 - n:03d}", "group": "many"}
                for n, app_id in enumerate(MANY_IDS)
            ]
        )
        yield Stack(live, channel)


def app_list_requests(stack: Stack) -> int:
    """``GET /api/v1/apps`` requests the API has logged (the access log: path only)."""
    return stack.live.api.stderr_text().count("GET /api/v1/apps 200")


def first_row_id(tab: sync_api.Page) -> str | None:
    return tab.locator('.ag-center-cols-container .ag-row[row-index="0"]').get_attribute("row-id")


def test_a_big_fleet_is_paged_sorted_and_polled_by_the_api(
    big_stack: Stack, page: tuple[sync_api.Page, Traffic]
) -> None:
    tab, traffic = page
    sign_in(tab, big_stack, OPERATOR)
    expect(tab.locator("#page-title")).to_have_text("Program Manager · All")
    expect(tab.locator("#apps-count")).to_have_text(f"{MANY} apps")  # meta.total
    wait_for_grid(tab, MANY_IDS[:3])
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
    big_stack.live.update_app(MANY_IDS[-1], fatal_flag="FATAL")
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
    expect(tab.locator("#bulk-status")).to_contain_text("START: completed, 1/1")
    assert big_stack.live.command_flags([MANY_IDS[1], MANY_IDS[2]]) == {
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
