"""Swagger UI and ReDoc render in a real browser, entirely from this machine.

Debian's chromium (``ops/install-browser.sh``) driven by Playwright against ``dcctl serve``.
Every request the pages make must stay on 127.0.0.1, and the console must stay clean:
no errors, no failed requests, no Content-Security-Policy violations.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright import sync_api

from tests.live_server import HOST, LiveServer, migrated_sqlite

pytestmark = pytest.mark.browser

RENDER_TIMEOUT_MS = 20_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("docs-server")
    url = migrated_sqlite(root / "docs.sqlite3")
    with LiveServer(url, log_dir=root) as live:
        yield live


@dataclass
class PageTraffic:
    """What a page did: every request URL, console errors, failures, CSP violations."""

    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    error_responses: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert self.requests, "the page made no request at all"
        off_machine = [url for url in self.requests if not _local(url)]
        assert off_machine == [], f"requests left the machine: {off_machine}"
        assert self.csp_violations == [], f"CSP violations: {self.csp_violations}"
        assert self.failed == [], f"failed requests: {self.failed}"
        assert self.error_responses == [], f"HTTP errors: {self.error_responses}"
        assert self.console_errors == [], f"console errors: {self.console_errors}"
        assert self.page_errors == [], f"uncaught page errors: {self.page_errors}"


def _local(url: str) -> bool:
    parts = urlsplit(url)
    # data: and blob: URLs are in-page, not network requests; everything else is 127.0.0.1.
    if parts.scheme in {"data", "blob"}:
        return True
    return parts.hostname == HOST


@pytest.fixture
def page(browser: sync_api.Browser) -> Iterator[tuple[sync_api.Page, PageTraffic]]:
    context = browser.new_context(viewport={"width": 1280, "height": 1600})
    page = context.new_page()
    traffic = PageTraffic()

    def on_console(message: sync_api.ConsoleMessage) -> None:
        text = message.text
        if "Content Security Policy" in text or "Content-Security-Policy" in text:
            traffic.csp_violations.append(text)
        if message.type == "error":
            traffic.console_errors.append(text)

    page.on("request", lambda request: traffic.requests.append(request.url))
    page.on("requestfailed", lambda r: traffic.failed.append(f"{r.url}: {r.failure}"))
    page.on(
        "response",
        lambda r: (
            traffic.error_responses.append(f"{r.status} {r.url}") if r.status >= 400 else None
        ),
    )
    page.on("console", on_console)
    page.on("pageerror", lambda error: traffic.page_errors.append(str(error)))
    yield page, traffic
    context.close()


def _settle(page: sync_api.Page) -> None:
    # Let late requests (fonts, workers, the document) finish before we judge the traffic.
    page.wait_for_load_state("networkidle", timeout=RENDER_TIMEOUT_MS)


def test_swagger_ui_renders_locally(
    server: LiveServer, page: tuple[sync_api.Page, PageTraffic], tmp_path: Path
) -> None:
    browser_page, traffic = page
    response = browser_page.goto(f"{server.url}/api/docs", wait_until="load")
    assert response is not None
    assert response.status == 200

    browser_page.locator(".opblock").first.wait_for(state="visible", timeout=RENDER_TIMEOUT_MS)
    sync_api.expect(browser_page.get_by_text("List apps").first).to_be_visible(
        timeout=RENDER_TIMEOUT_MS
    )
    sync_api.expect(
        browser_page.locator(".opblock-summary-path", has_text="/api/v1/apps").first
    ).to_be_visible(timeout=RENDER_TIMEOUT_MS)
    assert browser_page.locator(".opblock").count() >= 3
    _settle(browser_page)

    shot = tmp_path / "swagger-ui.png"
    browser_page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 20_000, "screenshot is suspiciously small (blank page?)"

    assert any(url.endswith("/api/openapi.json") for url in traffic.requests)
    traffic.assert_clean()


def test_redoc_renders_locally(
    server: LiveServer, page: tuple[sync_api.Page, PageTraffic], tmp_path: Path
) -> None:
    browser_page, traffic = page
    response = browser_page.goto(f"{server.url}/api/redoc", wait_until="load")
    assert response is not None
    assert response.status == 200

    # The operation's heading in the middle panel (the sidebar entry sits in a folded group).
    sync_api.expect(browser_page.get_by_role("heading", name="List apps")).to_be_visible(
        timeout=RENDER_TIMEOUT_MS
    )
    sync_api.expect(browser_page.get_by_text("/api/v1/apps").first).to_be_attached()
    _settle(browser_page)

    shot = tmp_path / "redoc.png"
    browser_page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000

    assert any(url.endswith("/api/openapi.json") for url in traffic.requests)
    traffic.assert_clean()
