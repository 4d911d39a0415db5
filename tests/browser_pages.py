"""Helpers of the dashboard's browser tests (``tests/browser/``; the shared fixtures are in
``tests/browser/conftest.py``): a webhook receiver on loopback, the tab's traffic, sign-in
and navigation, the theme switch, screenshots (1366x768, light and dark, into
``var/screenshots/``) and the contrast check. Not a test module."""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright import sync_api
from playwright.sync_api import expect

from tests.live_dashboard import PASSWORD
from tests.live_server import HOST

SCREENSHOTS = Path(__file__).resolve().parents[1] / "var" / "screenshots"
VIEWPORT = {"width": 1366, "height": 768}


class Receiver:
    """A webhook receiver on loopback: remembers each POST's body."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        received = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                received.append(json.loads(self.rfile.read(length) or b"{}"))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:  # quiet
                pass

        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        self.url = f"http://{HOST}:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Traffic:
    """What a tab did: every request and socket, and each kind of problem."""

    requests: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)
    websockets: list[str] = field(default_factory=list)

    def watch(self, tab: sync_api.Page) -> None:
        def on_console(message: sync_api.ConsoleMessage) -> None:
            text = message.text
            if "Content Security Policy" in text or "Content-Security-Policy" in text:
                self.csp_violations.append(text)
            elif message.type == "error" and "401" not in text:
                self.console_errors.append(text)

        tab.on("request", lambda r: self.requests.append(r.url))
        tab.on("response", lambda r: self.not_found.append(r.url) if r.status == 404 else None)
        tab.on("console", on_console)
        tab.on("websocket", lambda ws: self.websockets.append(ws.url))
        tab.on("pageerror", lambda e: self.page_errors.append(str(e)))

    def assert_clean(self) -> None:
        """Nothing left 127.0.0.1; no CSP violation, page error, 404 or console error."""
        urls = self.requests + self.websockets
        off = [u for u in urls if urlsplit(u).scheme not in {"data", "blob"}]
        off = [u for u in off if urlsplit(u).hostname != HOST]
        assert off == [], f"requests left 127.0.0.1: {off}"
        assert self.csp_violations == [], self.csp_violations
        assert self.page_errors == [], self.page_errors
        assert self.not_found == [], self.not_found
        assert self.console_errors == [], self.console_errors


def shot(tab: sync_api.Page, name: str, *, full_page: bool = False) -> None:
    """One screenshot of the view as it is, into ``var/screenshots/<name>.png``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


def sign_in(tab: sync_api.Page, url: str, email: str) -> None:
    """Sign in at the dashboard's ``url`` (``…/dashboard/``) with the test password."""
    tab.goto(url)
    expect(tab).to_have_url(re.compile(r"/dashboard/login"))
    tab.fill("#email", email)
    tab.fill("#password", PASSWORD)
    tab.click("#login-submit")
    expect(tab.locator("#whoami")).to_contain_text(email)


def go(tab: sync_api.Page, link_id: str, title: str) -> None:
    tab.locator(f"#{link_id}").click()
    expect(tab.locator("#page-title")).to_have_text(title)


def set_theme(tab: sync_api.Page, theme: str) -> None:
    toggle = tab.locator("#theme-toggle")
    if tab.evaluate("document.documentElement.dataset.theme") != theme:
        toggle.click()
    expect(tab.locator("html")).to_have_attribute("data-theme", theme)


def screenshots(tab: sync_api.Page, name: str) -> None:
    """The view in both themes, each checked for text below the WCAG contrast minimum;
    the theme is left as it was found."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    first = tab.evaluate("document.documentElement.dataset.theme") or "light"
    for theme in (first, "dark" if first == "light" else "light"):
        set_theme(tab, theme)
        tab.wait_for_timeout(300)  # let the grids repaint in the new scheme
        tab.screenshot(path=str(SCREENSHOTS / f"{name}-{theme}.png"))
        low = tab.evaluate(LOW_CONTRAST_JS)
        assert low == [], f"{name}, {theme} theme: text below the contrast minimum: {low[:5]}"
    set_theme(tab, first)


def focused_row(tab: sync_api.Page) -> str | None:
    return tab.evaluate(
        "() => { const c = document.activeElement && document.activeElement.closest('.ag-row');"
        " return c ? c.getAttribute('row-id') : null; }"
    )


LOW_CONTRAST_JS = """
() => {
  // "rgb(r, g, b[, a])", or "color(srgb r g b[ / a])" (0-1 channels) as AG Grid's
  // color-mix() colours compute to
  const rgb = (s) => {
    const m = s && s.match(/[\\d.]+/g);
    if (!m) return null;
    const v = m.map(Number);
    return s.startsWith('color(') ? v.map((x, i) => (i < 3 ? x * 255 : x)) : v;
  };
  const lum = ([r, g, b]) => { const f = (c) => { c /= 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c && (c.length < 4 || c[3] > 0.5)) return c;
    }
    return [255, 255, 255];
  };
  const bad = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const text = n.textContent.trim();
    const el = n.parentElement;
    if (!text || !el || !el.offsetParent || el.closest('svg')) continue;
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || Number(style.opacity) < 0.5) continue;
    const fg = rgb(style.color); const bg = background(el);
    const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    const large = parseFloat(style.fontSize) >= 18.5;
    if (ratio < (large ? 3 : 4.5)) bad.push(`${text.slice(0, 40)} ${ratio.toFixed(2)}`);
  }
  return bad;
}
"""
