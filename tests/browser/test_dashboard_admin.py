"""Dashboard v2 in a real browser (Debian's chromium through Playwright) against a real API
(``dcctl serve``, embedded worker) and dashboard: the Data Processor's stage matrix, the
admin pages (notification channels with a test send to a webhook receiver on loopback,
activity, dead jobs), the keyboard shortcuts and the dark theme.

Every page is also written as a screenshot at 1366x768, light and dark, into
``var/screenshots/`` (git-ignored) for a person to look at; the helpers are in
``tests/browser_pages.py``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import dramatiq
import httpx
import pytest
from playwright import sync_api
from playwright.sync_api import expect

from control.auth.roles import Role
from control.clock import utcnow
from control.enums import PipelineStatus
from control.jobs.models import DeadJob
from tests.browser_pages import (
    Receiver,
    Traffic,
    focused_row,
    go,
    screenshots,
    set_theme,
    sign_in,
)
from tests.live_dashboard import PASSWORD, DashboardStack

pytestmark = [pytest.mark.browser, pytest.mark.services]

RUN = uuid.uuid4().hex[:8]
ADMIN = f"admin-{RUN}@example.com"
OPERATOR = f"operator-{RUN}@example.com"
APPS = [f"kb_app_{n}" for n in range(4)]
P = PipelineStatus


# -- the stack ---------------------------------------------------------------------------


@dataclass
class Stack:
    live: DashboardStack
    receiver: Receiver
    dead_job_id: int

    @property
    def url(self) -> str:
        return self.live.dashboard_url + "/dashboard/"

    def api(self, path: str, **params: Any) -> Any:
        """GET an API path as the admin (the figures the page should agree with)."""
        with httpx.Client(base_url=self.live.api.url, trust_env=False, timeout=10) as http:
            grant = http.post(
                "/api/v1/auth/token", json={"username": ADMIN, "password": PASSWORD}
            ).json()["data"]
            response = http.get(
                f"/api/v1{path}",
                params=params,
                headers={"Authorization": f"Bearer {grant['access_token']}"},
            )
        assert response.status_code == 200, response.text
        return response.json()


def seed_pipeline(live: DashboardStack) -> None:
    """Two document types over the stages, failures in OCR and NER, one task outside the
    last 24 hours (it must not be counted)."""
    now = utcnow()

    def task(kind: str, stage: str, status: PipelineStatus, minutes: int = 15, **extra: Any):
        created = now - dt.timedelta(minutes=minutes)
        return {
            "app": APPS[0],
            "document_type": kind,
            "stage": stage,
            "status": status,
            "created": created,
            "updated": created,
            **extra,
        }

    failed = {"ended": now - dt.timedelta(minutes=5)}
    live.add_pipeline_tasks(
        [
            task("invoice", "OCR", P.PROCESSING),
            task("invoice", "OCR", P.FAILED, error="OCR timeout", error_stage="OCR", **failed),
            task("invoice", "OCR", P.FAILED, error="blank page", error_stage="OCR", **failed),
            task("invoice", "NER", P.RETRYING, retries=1),
            task("invoice", "STORED", P.COMPLETED),
            task("invoice", "STORED", P.COMPLETED),
            task("contract", "RECEIVED", P.PENDING),
            task("contract", "NER", P.FAILED, error="no entities", error_stage="NER", **failed),
            task("contract", "STORED", P.COMPLETED),
            task("contract", "STORED", P.COMPLETED, minutes=3 * 24 * 60),  # outside 24 h
        ]
    )


def seed_dead_job(live: DashboardStack) -> int:
    """A dead maintenance message (its actor exists in the API's embedded worker)."""
    message = dramatiq.Message(
        queue_name="maintenance", actor_name="cleanup_tokens", args=(), kwargs={}, options={}
    )
    db, ctx = live._bound([DeadJob])
    with ctx:
        job = DeadJob.create(
            queue="maintenance",
            actor="cleanup_tokens",
            message_id=message.message_id,
            args={"args": [], "kwargs": {}},
            message=message.encode().decode(),
            error="TimeoutError: database busy",
        )
    db.close()
    return int(job.id)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    root = tmp_path_factory.mktemp("dashboard-admin")
    receiver = Receiver()
    try:
        with DashboardStack(root) as live:
            live.add_user(ADMIN, Role.ADMIN)
            live.add_user(OPERATOR, Role.OPERATOR)
            live.add_apps([{"id": a, "app": a, "group": "kb"} for a in APPS])
            seed_pipeline(live)
            yield Stack(live, receiver, seed_dead_job(live))
    finally:
        receiver.close()


# -- Data Processor ----------------------------------------------------------------------


def test_stage_matrix_agrees_with_the_api(stack: Stack, page: tuple[sync_api.Page, Traffic]):
    tab, traffic = page
    sign_in(tab, stack.url, OPERATOR)
    go(tab, "nav-data", "Data Processor")
    expect(tab.locator("#stage-matrix-table")).to_be_visible()
    for period in ("last_24h", "last_7d"):
        tab.locator("#dp-period").get_by_label(
            {"last_24h": "Last 24 hours", "last_7d": "Last 7 days"}[period]
        ).check()
        api = stack.api("/pipelines/stages", period=period)["data"]
        shown = tab.locator("#stage-matrix-table thead th")
        expect(shown).to_have_text(["Document type", *api["stages"], "Total"])
        for row in api["document_types"]:
            kind = row["document_type"]
            total = tab.locator(f'.row-total[data-type="{kind}"]')
            expect(total).to_have_text(str(row["total"]))
            for cell in row["cells"]:
                td = tab.locator(f'td.stage-cell[data-type="{kind}"][data-stage="{cell["stage"]}"]')
                expect(td).to_have_attribute("data-total", str(cell["total"]))
                expect(td).to_have_attribute("data-failed", str(cell["failed"]))
                if cell["failed"]:
                    expect(td).to_have_class(re.compile(r"\bhas-failed\b"))
                    expect(td).to_contain_text(f"{cell['failed']} failed")
                else:
                    expect(td).not_to_have_class(re.compile(r"\bhas-failed\b"))
    # the counts the seed implies, so the comparison above cannot pass on two empty sides
    ocr = tab.locator('td.stage-cell[data-type="invoice"][data-stage="OCR"]')
    expect(ocr).to_have_attribute("data-total", "3")
    expect(ocr).to_have_attribute("data-failed", "2")
    expect(tab.locator('.row-total[data-type="contract"]')).to_have_text("4")  # 7 days
    tab.locator("#dp-period").get_by_label("Last 24 hours").check()
    expect(tab.locator('.row-total[data-type="contract"]')).to_have_text("3")

    # the OCR and NER stage views and the errors grouped by document type
    expect(tab.locator("#stage-ocr-errors")).to_contain_text("OCR timeout")
    expect(tab.locator("#stage-ocr-errors")).not_to_contain_text("no entities")
    expect(tab.locator("#stage-ner-errors")).to_contain_text("no entities")
    expect(tab.locator("#stage-ner-grid")).to_contain_text("invoice")
    invoice = tab.locator('.error-group[data-type="invoice"]')
    expect(invoice.locator("h4")).to_have_text("invoice — 2 failed")
    expect(invoice.locator(".chip")).to_have_text(["OCR: 2"])
    screenshots(tab, "data-processor")
    traffic.assert_clean()


# -- admin pages -------------------------------------------------------------------------


def test_only_admins_see_the_admin_pages(stack: Stack, page: tuple[sync_api.Page, Traffic]):
    tab, traffic = page
    sign_in(tab, stack.url, OPERATOR)
    expect(tab.locator("#nav-data")).to_be_visible()
    expect(tab.locator("#nav-admin")).to_have_count(0)
    expect(tab.locator("#nav-admin-notifications")).to_have_count(0)
    tab.goto(stack.url + "admin/dead-jobs")
    expect(tab.locator("#page-title")).to_have_text("Admins only")
    expect(tab.locator("#dead-jobs-grid")).to_have_count(0)
    traffic.assert_clean()


def test_admin_creates_a_webhook_test_sends_it_and_sees_the_delivery(
    stack: Stack, page: tuple[sync_api.Page, Traffic]
):
    tab, traffic = page
    sign_in(tab, stack.url, ADMIN)
    go(tab, "nav-admin-notifications", "Notification channels")
    name = f"ops-hook-{RUN}"
    tab.fill("#channel-name", name)
    tab.locator("#channel-type").get_by_label("webhook", exact=True).check()
    tab.fill("#channel-config", json.dumps({"url": stack.receiver.url, "secret": "s" * 24}))
    tab.click("#channel-create")
    expect(tab.locator("#channel-status")).to_have_text(f"Channel {name} created.")
    row = tab.locator("#channels-grid .ag-row", has_text=name)
    expect(row).to_be_visible()
    expect(row).to_contain_text(stack.receiver.url)
    # the secret is write-only: gone from the form and the page once the API has it
    expect(tab.locator("#channel-config")).not_to_have_value(re.compile("s" * 24))
    expect(tab.locator("#channel-config")).to_have_value(re.compile(re.escape(stack.receiver.url)))
    assert "s" * 24 not in tab.content()

    # a refused body shows the API's message
    row.click()
    expect(tab.locator("#channel-form-title")).to_have_text(
        re.compile(rf"^Channel {name} \(#\d+\)$")
    )
    expect(tab.locator("#channel-name")).to_have_value(name)
    tab.fill("#channel-config", json.dumps({"url": "ftp://nowhere"}))
    tab.click("#channel-save")
    expect(tab.locator("#channel-status")).to_contain_text("Refused: Invalid channel.")

    # edit: the severity changes, the stored secret is kept (not in the form)
    tab.fill("#channel-config", json.dumps({"url": stack.receiver.url}))
    tab.locator("#channel-severity").get_by_label("error", exact=True).check()
    tab.click("#channel-save")
    expect(tab.locator("#channel-status")).to_have_text(f"Channel {name} saved.")
    expect(row).to_contain_text("error")

    tab.click("#channel-test")
    expect(tab.locator("#channel-status")).to_contain_text(f"Test message queued to {name}")
    history = tab.locator("#deliveries-grid .ag-row", has_text=name)
    expect(history.first).to_contain_text("sent", timeout=20_000)
    expect(history.first).to_contain_text("test")
    assert len(stack.receiver.bodies) == 1  # the receiver got exactly the test message
    screenshots(tab, "admin-notifications")
    traffic.assert_clean()


def test_dead_jobs_page_requeues_through_the_api(stack: Stack, page: tuple[sync_api.Page, Traffic]):
    tab, traffic = page
    sign_in(tab, stack.url, ADMIN)
    go(tab, "nav-admin-dead-jobs", "Dead jobs")
    job = tab.locator(f'#dead-jobs-grid .ag-row[row-id="{stack.dead_job_id}"]')
    expect(job).to_contain_text("cleanup_tokens")
    expect(job).to_contain_text("TimeoutError: database busy")
    screenshots(tab, "admin-dead-jobs")
    tab.click("#dead-requeue")
    expect(tab.locator("#dead-status")).to_have_text("Select a dead job first.")
    job.locator('[col-id="id"]').click()
    tab.click("#dead-requeue")
    expect(tab.locator("#dead-status")).to_have_text(
        f"Dead job {stack.dead_job_id} (cleanup_tokens) re-queued."
    )
    requeued = stack.api("/jobs/dead", requeued="true")["data"]
    assert [j["id"] for j in requeued] == [stack.dead_job_id]
    expect(job.locator('[col-id="requeued_at"]')).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d "))
    tab.click("#dead-requeue")  # once only: the API's 409 is shown
    expect(tab.locator("#dead-status")).to_contain_text(
        f"Dead job {stack.dead_job_id} not re-queued"
    )
    traffic.assert_clean()


def test_activity_feed_filters(stack: Stack, page: tuple[sync_api.Page, Traffic]):
    tab, traffic = page
    sign_in(tab, stack.url, ADMIN)
    go(tab, "nav-admin-activity", "Activity")
    grid = tab.locator("#activity-grid")
    expect(grid.locator(".ag-row").first).to_be_visible()
    tab.fill("#activity-actor", OPERATOR)
    tab.press("#activity-actor", "Enter")
    expect(grid.locator(".ag-row").first).to_contain_text(OPERATOR)
    actors = grid.locator('.ag-row [col-id="actor"]').all_inner_texts()
    assert actors
    assert set(actors) == {OPERATOR}
    tab.fill("#activity-action", "not a valid action!")
    tab.press("#activity-action", "Enter")
    expect(tab.locator("#activity-error")).to_contain_text("Could not load the activity")
    tab.fill("#activity-action", "auth.*")
    tab.press("#activity-action", "Enter")
    expect(tab.locator("#activity-error")).to_have_text("")
    expect(grid.locator(".ag-row").first).to_contain_text("auth.")
    screenshots(tab, "admin-activity")
    traffic.assert_clean()


# -- keyboard and theme ------------------------------------------------------------------


def test_keyboard_search_rows_open_and_back(stack: Stack, page: tuple[sync_api.Page, Traffic]):
    tab, traffic = page
    sign_in(tab, stack.url, OPERATOR)
    grid = tab.locator("#apps-grid")
    for app_id in APPS:
        expect(grid.locator(f'.ag-row[row-id="{app_id}"]').first).to_be_visible()
    tab.locator("h2#page-title").click()  # focus on the page, not in a box
    tab.keyboard.press("j")
    assert focused_row(tab) == APPS[0]
    tab.keyboard.press("j")
    tab.keyboard.press("j")
    assert focused_row(tab) == APPS[2]
    tab.keyboard.press("k")
    assert focused_row(tab) == APPS[1]
    tab.keyboard.press("Enter")
    expect(tab).to_have_url(re.compile(rf"/dashboard/app/{APPS[1]}$"))
    expect(tab.locator("#page-title")).to_have_text(f"App {APPS[1]}")
    tab.locator("#page-title").click()
    tab.keyboard.press("Escape")
    expect(tab).to_have_url(re.compile(r"/dashboard/$|/dashboard/apps/all$"))
    expect(tab.locator("#page-title")).to_have_text(re.compile("Program Manager"))
    tab.keyboard.press("Escape")  # nothing before it in the dashboard: Esc stays
    tab.wait_for_timeout(500)
    expect(tab.locator("#page-title")).to_have_text(re.compile("Program Manager"))
    # an app opened from a link (no dashboard page before it): Esc goes to the fleet
    tab.goto(stack.url + f"app/{APPS[3]}")
    expect(tab.locator("#page-title")).to_have_text(f"App {APPS[3]}")
    tab.locator("#page-title").click()
    tab.keyboard.press("Escape")
    expect(tab).to_have_url(re.compile(r"/dashboard/apps/all$"))
    expect(tab.locator("#page-title")).to_have_text("Program Manager · All")

    # "/" focuses the search box (the Program Manager's #apps-search, else the page's
    # first text box): here the activity filters of an admin page have none, so use the
    # live log glob box, a page every role has
    tab.locator("#nav-live-logs").click()
    expect(tab.locator("#page-title")).to_have_text("Live logs")
    tab.locator("#page-title").click()
    tab.keyboard.press("/")
    focused = tab.evaluate("document.activeElement && document.activeElement.tagName")
    assert focused == "INPUT"
    tab.keyboard.type("kb_")
    first_box = tab.locator(".page input[type=text]").first
    expect(first_box).to_have_value(re.compile("kb_$"))
    tab.keyboard.press("Escape")  # leaves the box, stays on the page
    expect(tab.locator("#page-title")).to_have_text("Live logs")
    traffic.assert_clean()


def test_theme_is_remembered_and_text_is_readable_in_both_themes(
    stack: Stack, page: tuple[sync_api.Page, Traffic]
):
    tab, traffic = page
    sign_in(tab, stack.url, OPERATOR)
    expect(tab.locator("#theme-toggle")).to_have_text("Dark theme")
    set_theme(tab, "dark")
    expect(tab.locator("#theme-toggle")).to_have_text("Light theme")
    tab.reload()
    expect(tab.locator("html")).to_have_attribute("data-theme", "dark")
    expect(tab.locator("html")).to_have_attribute("data-ag-theme-mode", "dark")
    for link, title, name, ready in [
        ("nav-all", "Program Manager · All", "program-manager", f'[row-id="{APPS[0]}"]'),
        ("nav-statistics", "Statistics", "statistics", "#throughput-chart .js-plotly-plot"),
    ]:
        go(tab, link, title)
        expect(tab.locator(ready).first).to_be_visible(timeout=45_000)
        screenshots(tab, name)  # checks the contrast in both themes
    set_theme(tab, "light")
    traffic.assert_clean()
