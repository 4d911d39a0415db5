"""Shared set-up of the dashboard's browser tests: Debian's chromium through Playwright (one
browser for the session) and a fresh tab per test whose traffic is watched
(``tests/browser_pages.Traffic``). A module may set another tab size with ``VIEWPORT``.

The fleet of the dashboard v2 tests (``tests/browser/fleet.py``) is one stack for the
session: ``fleet`` (the test modules with a stack of their own keep their ``stack``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright import sync_api
from playwright.sync_api import expect

from tests.browser.fleet import Fleet, start_fleet
from tests.browser_pages import Traffic

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
TIMEOUT_MS = 15_000
DEFAULT_VIEWPORT = {"width": 1366, "height": 768}  # the screenshot size
expect.set_options(timeout=TIMEOUT_MS)


# One browser per module, not per session: Playwright's sync API holds an event loop as
# the main thread's running loop while it is started, and every later asyncio.run() in
# the session (the integration tests') would fail with "cannot be called from a running
# event loop".
@pytest.fixture(scope="module")
def browser() -> Iterator[sync_api.Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run ops/install-browser.sh (make browser)")
    with sync_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(
    browser: sync_api.Browser, request: pytest.FixtureRequest
) -> Iterator[tuple[sync_api.Page, Traffic]]:
    context = browser.new_context(viewport=getattr(request.module, "VIEWPORT", DEFAULT_VIEWPORT))
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    traffic = Traffic()
    traffic.watch(tab)
    yield tab, traffic
    context.close()


@pytest.fixture(scope="session")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    with start_fleet(tmp_path_factory.mktemp("dashboard-v2")) as started:
        yield started
