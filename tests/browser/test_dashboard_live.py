"""Dashboard v2 (issue 13) in a real browser, live and honest: WebSocket-pushed status and
progress within 2 s with polling off, the app.fatal toast, an API outage (banner, stale
rows kept, recovery without a reload), and the shared socket helper's reconnect
(``assets/live_socket.js``). The fleet: ``tests/browser/fleet.py``."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright import sync_api
from playwright.sync_api import expect

from control.clock import utcnow
from control.enums import RunStatus
from control.events import EventType
from control.runtimes.progress import progress_data
from dashboard.rows import duration_text
from tests.browser.fleet import (
    DE,
    FR,
    OPERATOR,
    RUNNING,
    Fleet,
    cell,
    center_row,
    polling_off,
    signed_in_grid,
)
from tests.browser_pages import Traffic, shot

pytestmark = [pytest.mark.browser, pytest.mark.services]


def test_websocket_status_change_shows_within_2s_without_polling(
    fleet: Fleet, page: tuple[sync_api.Page, Traffic]
) -> None:
    tab, traffic = page
    signed_in_grid(tab, fleet)
    expect(tab.locator("#live-state")).to_have_text("Live")
    polling_off(tab)
    expect(cell(tab, DE[1], "run_status")).to_have_text("IDLE")
    # as the agent does: the row changes, then the event is published
    fleet.live.update_app(DE[1], run_status=str(RunStatus.STOPPING))
    fleet.publish(
        EventType.APP_STATUS_CHANGED,
        {"app": DE[1], "old_status": "IDLE", "new_status": str(RunStatus.STOPPING)},
    )
    expect(cell(tab, DE[1], "run_status")).to_have_text("STOPPING", timeout=2_000)
    traffic.assert_clean()


def test_websocket_progress_moves_the_bar_within_2s_without_polling(
    fleet: Fleet, page: tuple[sync_api.Page, Traffic]
) -> None:
    tab, traffic = page
    signed_in_grid(tab, fleet)
    expect(tab.locator("#live-state")).to_have_text("Live")
    polling_off(tab)
    expect(cell(tab, RUNNING, "progress")).to_contain_text("986/3000")
    detail = fleet.api_get(OPERATOR, f"/apps/{RUNNING}").json()["data"]
    # as the agent does: the counters are written, then runtime.progress is published
    # (control/runtimes/progress.py builds the data; the same ETA as the API's)
    now = utcnow().replace(microsecond=0)
    started = dt.datetime.fromisoformat(detail["last_run"]["started"].removesuffix("Z"))
    data = progress_data(RUNNING, detail["last_run"]["runtime"], 1500, 3000, started, now)
    fleet.live.update_app(RUNNING, progress_current=1500, progress_updated=now)
    try:
        fleet.publish(EventType.RUNTIME_PROGRESS, {**data, "updated": now.isoformat()})
        expect(cell(tab, RUNNING, "progress")).to_contain_text("1500/3000", timeout=2_000)
        expect(cell(tab, RUNNING, "eta")).to_have_text(duration_text(data["eta_seconds"]))
        fill = cell(tab, RUNNING, "progress").locator(".progress-fill")
        expect(fill).to_have_attribute("style", re.compile(r"width: 50%"))
        shot(tab, "program-manager-progress")
    finally:
        fleet.live.update_app(RUNNING, progress_current=986)
    traffic.assert_clean()


def test_app_fatal_raises_a_toast_that_opens_the_app(
    fleet: Fleet, page: tuple[sync_api.Page, Traffic]
) -> None:
    tab, traffic = page
    signed_in_grid(tab, fleet)
    expect(tab.locator("#live-state")).to_have_text("Live")
    fleet.publish(EventType.APP_FATAL, {"app": FR[1], "reason": "3 consecutive failures"})
    toast = tab.locator(".toast", has_text=FR[1])
    expect(toast).to_contain_text("3 consecutive failures")
    shot(tab, "toast")
    toast.click()
    expect(tab).to_have_url(re.compile(rf"/dashboard/app/{FR[1]}$"))
    expect(tab.locator("#page-title")).to_have_text(f"App {FR[1]}")
    traffic.assert_clean()


# -- outage -------------------------------------------------------------------------------


def test_api_outage_shows_a_banner_keeps_data_and_recovers_without_reload(
    fleet: Fleet, page: tuple[sync_api.Page, Traffic]
) -> None:
    tab, traffic = page
    signed_in_grid(tab, fleet)
    fleet.proxy.down()
    try:
        banner = tab.locator("#api-banner")
        expect(banner).to_contain_text("unreachable")
        expect(banner).to_contain_text("retrying")
        expect(center_row(tab, DE[0])).to_be_visible()  # the last data stays, greyed
        shot(tab, "outage-banner")
        fleet.live.update_app(FR[0], app="renamed during the outage")
    finally:
        fleet.proxy.up()
    expect(tab.locator("#api-banner")).to_be_hidden(timeout=10_000)
    expect(cell(tab, FR[0], "app")).to_have_text("renamed during the outage", timeout=10_000)
    # the failed calls were answered without a server error (no 500 in the console)
    traffic.assert_clean()


SOCKET_HELPER_JS = """
async () => {
  const sent = [], asked = [], states = [];
  class FakeSocket {
    constructor(url) { this.url = url; FakeSocket.last = this; }
    send(text) { sent.push(JSON.parse(text)); }
    close() {}
  }
  const realSet = window.dash_clientside.set_props;
  const RealSocket = window.WebSocket;
  const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
  window.dash_clientside.set_props = (id, props) =>
    id === "fake-reconnect" ? asked.push(id) : realSet(id, props);
  window.WebSocket = FakeSocket;
  try {
    const feed = window.dcLive.create({
      reconnectStore: "fake-reconnect",
      subscribe: (config) => ({ type: "subscribe", for: config.token }),
      onFrame: (frame) => states.push("frame " + frame.type),
      onConnecting: () => states.push("connecting"),
      onRefused: (event) => states.push("refused " + event.code),
      onDisconnected: (event, delay) => states.push("down " + event.code + " " + delay),
    });
    const config = (token) => ({ url: "ws://127.0.0.1:9/fake", token: token });
    feed.connect(config("t1"));
    FakeSocket.last.onopen();
    FakeSocket.last.onmessage({ data: JSON.stringify({ type: "auth_ok" }) });
    FakeSocket.last.onmessage({ data: JSON.stringify({ type: "subscribed" }) });
    FakeSocket.last.onclose({ code: 1006 });  // the API went away
    await sleep(1300);                         // 1 s later: a fresh config is asked for
    const askedFirst = asked.length;
    feed.connect(config("t2"));
    FakeSocket.last.onclose({ code: 1006 });  // refused before auth_ok: the backoff grows
    await sleep(2300);
    feed.connect(config("t3"));
    FakeSocket.last.onclose({ code: 4401 });  // a refusal is final: no reconnect
    await sleep(300);
    return { sent, askedFirst, asked: asked.length, states };
  } finally {
    window.WebSocket = RealSocket;
    window.dash_clientside.set_props = realSet;
  }
}
"""


def test_the_shared_socket_helper_backs_off_reconnects_and_stops_on_a_refusal(
    fleet: Fleet, page: tuple[sync_api.Page, Traffic]
) -> None:
    tab, traffic = page
    signed_in_grid(tab, fleet)
    result = tab.evaluate(SOCKET_HELPER_JS)
    assert result["sent"] == [{"type": "auth", "token": "t1"}, {"type": "subscribe", "for": "t1"}]
    assert result["states"] == [
        "connecting",
        "frame subscribed",
        "down 1006 1000",
        "connecting",
        "down 1006 2000",
        "connecting",
        "refused 4401",
    ]
    assert (result["askedFirst"], result["asked"]) == (1, 2)
    expect(tab.locator("#live-state")).to_have_text("Live")  # the page's own feed is untouched
    traffic.assert_clean()
