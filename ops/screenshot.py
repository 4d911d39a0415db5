"""Take the README's screenshot: the Program Manager of a seeded demo fleet at 1366x768.

    .venv/bin/python ops/screenshot.py [--out docs/images/program-manager.png] [--theme dark]

Starts a throw-away API and dashboard on free ports of 127.0.0.1 over a fresh SQLite file in
a temporary directory (the test suite's ``tests/live_dashboard.py``), seeds it with
``dcctl demo seed``, signs in as a one-off admin in Debian's chromium (headless, through
Playwright) and writes the PNG. Nothing outside the temporary directory and ``--out`` is
touched; everything it started is stopped on exit. Takes well under a minute.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script: the repository's packages, tests' helpers

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from control.auth.roles import Role  # noqa: E402
from tests.live_dashboard import DashboardStack  # noqa: E402
from tests.live_server import run_dcctl, server_env  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
VIEWPORT = {"width": 1366, "height": 768}
MAX_BYTES = 400 * 1024
DEFAULT_OUT = ROOT / "docs" / "images" / "program-manager.png"


def seed(database_url: str, apps: int) -> None:
    result = run_dcctl(
        "demo", "seed", "--apps", str(apps), "--days", "1", env=server_env(database_url)
    )
    if result.returncode != 0:
        raise SystemExit(f"dcctl demo seed failed:\n{result.stdout}{result.stderr}")


def shoot(url: str, email: str, password: str, out: Path, theme: str) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        try:
            context = browser.new_context(viewport=VIEWPORT)
            if theme == "dark":  # what the header's toggle remembers (assets/theme.js)
                context.add_init_script("localStorage.setItem('dc-theme', 'dark')")
            page = context.new_page()
            page.goto(url + "/dashboard/")
            page.fill("#email", email)
            page.fill("#password", password)
            page.click("#login-submit")
            rows = page.locator("#apps-grid .ag-center-cols-container .ag-row")
            expect(rows.first).to_be_visible(timeout=30_000)
            expect(page.locator("#group-links a").first).to_be_visible()
            time.sleep(0.5)  # the grid sizes its columns after the first rows arrive
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out))
        finally:
            browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--theme", choices=("light", "dark"), default="light")
    parser.add_argument("--apps", type=int, default=72, help="Demo fleet size.")
    args = parser.parse_args()
    started = time.monotonic()
    password = secrets.token_urlsafe(18)
    email = "readme-admin@example.com"
    with tempfile.TemporaryDirectory(prefix="dc-screenshot-") as tmp:
        stack = DashboardStack(Path(tmp))
        seed(stack.database_url, args.apps)
        stack.add_user(email, Role.ADMIN, password)
        with stack:
            shoot(stack.dashboard_url, email, password, args.out, args.theme)
    size = args.out.stat().st_size
    print(f"wrote {args.out} ({size // 1024} KB) in {time.monotonic() - started:.0f} s")
    if size > MAX_BYTES:
        raise SystemExit(f"{args.out} is over {MAX_BYTES // 1024} KB: crop or simplify the view")


if __name__ == "__main__":
    main()
