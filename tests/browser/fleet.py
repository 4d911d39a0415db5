"""The fleet of the dashboard v2 browser tests (issue 13), shared by
``tests/browser/test_dashboard_{grid,live,detail,views}.py`` (one stack for the session,
the ``fleet`` fixture of ``tests/browser/conftest.py``): a real API (``dcctl serve``) and a
real dashboard (``dcctl dashboard``), users of each role, apps in two groups, a running app
and one app's run history.

The dashboard reaches the API through a TCP proxy (``tests/tcp_proxy.py``), so a test can
make the API unreachable for the dashboard exactly as a stopped API would be (connections
refused and reset), then bring it back. Events are published into the real Redis, as an
agent or worker would. Not a test module.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from playwright import sync_api
from playwright.sync_api import expect

from control.auth.roles import Role
from control.clock import utcnow
from control.enums import RuntimeStatus
from control.events import Event, EventType
from control.events.redis_bus import RedisBus
from tests.browser_pages import sign_in
from tests.live_dashboard import PASSWORD, DashboardProcess, DashboardStack
from tests.live_server import HOST
from tests.tcp_proxy import TcpProxy

VIEWPORT = {"width": 1366, "height": 768}
REDIS_URL = "redis://127.0.0.1:6379/13"
RUN = uuid.uuid4().hex[:8]
ADMIN = f"admin-{RUN}@example.com"
OPERATOR = f"operator2-{RUN}@example.com"
VIEWER = f"viewer2-{RUN}@example.com"
TRAVELLER = f"traveller-{RUN}@example.com"
DE = ["v2_de_alpha", "v2_de_beta", "v2_de_gamma"]
FR = ["v2_fr_delta", "v2_fr_epsilon"]
RUNNING = "v2_de_running"
STRIP_RUNS = [
    RuntimeStatus.COMPLETED,
    RuntimeStatus.FAILED,
    RuntimeStatus.COMPLETED,
    RuntimeStatus.STOPPED,
]
SPEC_COLUMNS = [
    "App ID",
    "Group",
    "Parent",
    "App name",
    "Last run",
    "Next run",
    "Run status",
    "Progress",
    "ETA",
    "Fatal flag",
    "Disabled",
]


@dataclass
@dataclass
class Fleet:
    live: DashboardStack
    proxy: TcpProxy
    channel: str
    strip_run_ids: list[str]

    @property
    def url(self) -> str:
        return self.live.dashboard_url + "/dashboard/"

    def publish(self, kind: EventType, data: dict[str, Any]) -> None:
        bus = RedisBus(REDIS_URL, channel=self.channel)
        try:
            assert bus.publish(Event.of(kind, data))
        finally:
            bus.close(timeout=10)

    def api_get(self, email: str, path: str) -> Any:
        """What the API itself answers to this user (the grid must show the same)."""
        with httpx.Client(base_url=self.live.api.url, trust_env=False) as http:
            grant = http.post(
                "/api/v1/auth/token", json={"username": email, "password": PASSWORD}
            ).json()["data"]
            headers = {"Authorization": f"Bearer {grant['access_token']}"}
            return http.get(f"/api/v1{path}", headers=headers)


@contextlib.contextmanager
def start_fleet(root: Path) -> Iterator[Fleet]:
    """The API (with Redis events), a TCP proxy in front of it for the dashboard, the
    dashboard, the users, the apps and their runs."""
    channel = f"dc:test:dashboard-v2:{uuid.uuid4().hex}"
    live = DashboardStack(
        root,
        DC_REDIS_URL=REDIS_URL,
        DC_EVENTS_CHANNEL=channel,
        DC_BULK_MAX_APPS="2",
        # no agent runs the seeded RUNNING run: the stale sweep must not close it mid-test
        DC_AGENT_STALE_AFTER_SECONDS="86400",
    )
    live.api.start()
    proxy = TcpProxy(HOST, live.api.port)
    try:
        # the dashboard's server side goes through the proxy; the browser's WebSocket
        # goes to the API itself (the outage is the dashboard's view of the API)
        live.dashboard = DashboardProcess(
            live.database_url,
            f"http://{HOST}:{proxy.port}",
            live.dashboard_port,
            root,
            DC_DASHBOARD_PUBLIC_API_URL=live.api.url,
        ).start()
        live.add_user(ADMIN, Role.ADMIN)
        live.add_user(OPERATOR, Role.OPERATOR)
        live.add_user(VIEWER, Role.VIEWER)
        live.add_user(TRAVELLER, Role.VIEWER)
        live.add_apps([{"id": i, "app": i, "group": "de"} for i in DE])
        live.add_apps([{"id": i, "app": i, "group": "fr", "parent": "gouv"} for i in FR])
        strip = seed_runs(live)
        yield Fleet(live, proxy, channel, strip)
    finally:
        if live.dashboard is not None:
            live.dashboard.stop()
        proxy.close()
        live.api.__exit__(None, None, None)


def seed_runs(live: DashboardStack) -> list[str]:
    """A running app (previous run two days old, current run ten minutes in, 986/3000),
    and four finished runs of DE[0] for its run strip (one failed) with a log line each."""
    now = utcnow().replace(microsecond=0)
    live.add_apps([{"id": RUNNING, "app": RUNNING, "group": "de", "run_status": "RUNNING"}])
    previous = now - dt.timedelta(days=2)
    current = now - dt.timedelta(minutes=10)
    live.add_runtimes(RUNNING, [{"started": previous, "status": RuntimeStatus.COMPLETED}])
    live.add_runtimes(RUNNING, [{"started": current, "status": "RUNNING", "ended": None}])
    live.update_app(
        RUNNING,
        last_runtime=f"{previous:%Y%m%d_%H%M%S}_{RUNNING}",
        current_runtime=f"{current:%Y%m%d_%H%M%S}_{RUNNING}",
        progress_current=986,
        progress_total=3000,
        progress_updated=now,
    )
    ids = []
    for n, status in enumerate(STRIP_RUNS):
        started = now - dt.timedelta(hours=len(STRIP_RUNS) - n)
        run_id = f"{started:%Y%m%d_%H%M%S}_{DE[0]}"
        live.add_runtimes(DE[0], [{"started": started, "status": status}])
        live.add_run_log(DE[0], run_id, f"log line of run {n} ({status})", started)
        ids.append(run_id)
    # one timed core call in the failed run (its Logs tab: core runtime 1.250 s)
    failed_started = now - dt.timedelta(hours=len(STRIP_RUNS) - 1)
    live.add_function_logs(
        [
            {
                "app": DE[0],
                "runtime": ids[1],
                "function_name": "parse_pages",
                "module": "collector.parse",
                "started": failed_started + dt.timedelta(seconds=5),
                "runtime_seconds": 1.25,
                "task_size": 10,
                "solved": 9,
                "failed": 1,
            }
        ]
    )
    return ids


# -- helpers of the tests ---------------------------------------------------------------


def center_row(tab: sync_api.Page, app_id: str) -> sync_api.Locator:
    return tab.locator(f'.ag-center-cols-container .ag-row[row-id="{app_id}"]')


def cell(tab: sync_api.Page, app_id: str, column: str) -> sync_api.Locator:
    container = ".ag-pinned-left-cols-container" if column == "id" else ".ag-center-cols-container"
    return tab.locator(f'{container} .ag-row[row-id="{app_id}"] [col-id="{column}"]')


def select(tab: sync_api.Page, app_id: str) -> None:
    rows = tab.locator(".ag-pinned-left-cols-container, .ag-center-cols-container")
    rows.locator(f'[row-id="{app_id}"] .ag-selection-checkbox input').first.check()


def signed_in_grid(tab: sync_api.Page, fleet: Fleet, email: str = OPERATOR) -> None:
    sign_in(tab, fleet.url, email)
    expect(tab.locator("#page-title")).to_have_text("Program Manager · All")
    expect(center_row(tab, DE[0])).to_be_visible()


def polling_off(tab: sync_api.Page) -> None:
    """Turn the page's poll (the "tick" interval) off: only the socket can bring news."""
    tab.evaluate("() => window.dash_clientside.set_props('tick', {disabled: true})")
    tab.wait_for_timeout(1_500)  # a poll already under way lands first
