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
from dataclasses import dataclass

import httpx
import pytest
from playwright import sync_api
from playwright.sync_api import expect

from control.auth.roles import Role
from control.clock import utcnow
from control.enums import PipelineStatus, RuntimeStatus
from control.events import Event, EventType
from control.events.redis_bus import RedisBus
from tests.browser_pages import Traffic, shot
from tests.live_dashboard import PASSWORD, DashboardStack

pytestmark = [pytest.mark.browser, pytest.mark.services]

VIEWPORT = {"width": 1400, "height": 1000}  # the tab (tests/browser/conftest.py's page)
REDIS_URL = "redis://127.0.0.1:6379/13"
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
    # the API's dry run names how many apps the action touches; nothing is sent before
    expect(tab.locator("#bulk-confirm-text")).to_have_text("Start 2 apps?")
    assert set(stack.live.command_flags(DE).values()) == {"NONE"}
    tab.locator("#bulk-confirm-yes").click()
    expect(tab.locator("#bulk-status")).to_contain_text("START: completed, 2/2")
    assert stack.live.command_flags(DE) == {DE[0]: "START", DE[1]: "START"}
    assert set(stack.live.command_flags(FR).values()) == {"NONE"}
    traffic.assert_clean()


def test_opening_an_app_shows_its_detail(stack: Stack, page: tuple[sync_api.Page, Traffic]) -> None:
    tab, traffic = page
    sign_in(tab, stack, OPERATOR)
    wait_for_grid(tab, DE)
    # App ID is pinned at the left
    pinned = tab.locator(f'.ag-pinned-left-cols-container .ag-row[row-id="{DE[0]}"]')
    pinned.locator('[col-id="id"]').click()
    expect(tab).to_have_url(re.compile(rf"/dashboard/app/{DE[0]}$"))
    expect(tab.locator("#page-title")).to_have_text(f"App {DE[0]}")
    expect(tab.locator("#field-group")).to_have_value("de")
    expect(tab.locator("#field-app-id")).to_have_value(DE[0])
    # the Logs tab opens on the last run; the stored line belongs to no run: "All runs"
    expect(tab.locator("#log-run")).to_contain_text("FAILED")
    tab.locator("#log-run").click()
    tab.get_by_text("All runs", exact=True).click()
    expect(tab.get_by_text("stored log line of alpha")).to_be_visible()
    tab.get_by_text("History", exact=True).click()
    expect(tab.locator(".ag-header-cell-text", has_text="Duration")).to_be_visible()
    traffic.assert_clean()


def chart(tab: sync_api.Page, graph_id: str) -> sync_api.Locator:
    """The plotly plot rendered inside a ``dcc.Graph``."""
    return tab.locator(f"#{graph_id} .js-plotly-plot")


def assert_axes_fit(tab: sync_api.Page, graph_id: str) -> None:
    """Every point of the chart lies inside its axes' ranges (below the y axis' top, with
    headroom: the Statistics runs chart's points sat above it), stacked bars summed."""
    fit = tab.locator(f"#{graph_id} .js-plotly-plot").evaluate(
        """el => {
            const layout = el._fullLayout, stacked = layout.barmode === "stack";
            const ys = el.data.map(t => t.y || []);
            const highest = stacked
                ? Math.max(0, ...ys[0].map((_, i) => ys.reduce((s, y) => s + (y[i] || 0), 0)))
                : Math.max(0, ...ys.flat());
            const xs = el.data.flatMap(t => t.x || []).filter(x => /^[0-9]{4}-/.test(x))
                .map(x => Date.parse(x.replace(/Z$|[+]00:00$/, "")));
            const xr = layout.xaxis.range.map(x => Date.parse(x));
            return {highest, top: layout.yaxis.range[1], bottom: layout.yaxis.range[0],
                    xsInside: xs.every(x => x >= xr[0] && x <= xr[1])};
        }"""
    )
    assert fit["bottom"] <= 0, (graph_id, fit)
    assert fit["highest"] * 1.05 <= fit["top"], (graph_id, fit)
    assert fit["xsInside"], (graph_id, fit)


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
    # the tables are still below the charts; rates as percentages (2 of 3 completed)
    expect(tab.locator("#throughput-grid .ag-row")).to_have_count(len(all_types))
    rates = tab.locator("#throughput-grid .ag-row [col-id='success_rate']")
    expect(rates.filter(has_text="67%")).to_have_count(len(RECENT_TYPES))
    for graph_id in ("throughput-chart", "trends-chart", "runtimes-chart"):
        assert_axes_fit(tab, graph_id)
    shot(tab, "statistics-charts", full_page=True)

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
    for graph_id in ("perf-runtime-chart", "perf-size-chart"):
        assert_axes_fit(tab, graph_id)
    shot(tab, "app-detail-performance", full_page=True)
    traffic.assert_clean()


def test_live_log_panel_shows_published_lines(
    stack: Stack, page: tuple[sync_api.Page, Traffic]
) -> None:
    tab, traffic = page
    sign_in(tab, stack, OPERATOR)
    expect(tab.locator("#page-title")).to_contain_text("Program Manager")
    tab.locator("#nav-live-logs").click()
    expect(tab.locator("#live-status")).to_contain_text("live")
    # the backfill brought the stored line
    expect(tab.locator("#live-lines")).to_contain_text("stored log line of alpha")
    stack.publish_log(FR[0], "pushed while the page is open")
    expect(tab.locator("#live-lines")).to_contain_text("pushed while the page is open")
    # the page's own socket, beside the live updates' /ws/dashboard of every page
    assert f"{stack.live.api.url.replace('http', 'ws', 1)}/api/v1/ws/logs" in traffic.websockets
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
