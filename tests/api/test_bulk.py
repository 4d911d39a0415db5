"""Bulk jobs through the API and the actor, on both dialects.

The POST enqueues on the in-process (stub) broker; most tests capture the job id and
run the actor's function directly, one runs a real ``dramatiq.Worker`` on the stub.
"""

from __future__ import annotations

import datetime as dt

import dramatiq
import pytest

from control.audit.models import AuditLog
from control.auth.roles import Role
from control.bulk import services as bulk
from control.bulk.models import BulkJob, BulkJobItem
from control.commands.models import Command, Outbox
from control.db.models import Apps, utcnow
from control.enums import CommandFlag, FatalFlag, RunStatus
from tests.factories import make_app
from web.resources import bulk as bulk_resource
from workers import bulk as bulk_worker
from workers.broker import broker

API = "/api/v1"


@pytest.fixture
def sent(monkeypatch) -> list[str]:
    """The job ids the API handed to the broker (instead of the broker)."""
    ids: list[str] = []
    monkeypatch.setattr(bulk_resource, "enqueue_job", ids.append)
    return ids


@pytest.fixture
def fleet(db) -> list[Apps]:
    """20 'scrapers' apps (2 disabled, 3 running) and 5 in another group."""
    apps = [make_app(id=f"scraper_{n:02d}", group="scrapers") for n in range(20)]
    for app in apps[:2]:
        Apps.update(disabled=True).where(Apps.id == app.id).execute()
    for app in apps[2:5]:
        Apps.update(run_status=RunStatus.RUNNING).where(Apps.id == app.id).execute()
    for n in range(5):
        make_app(id=f"other_{n}", group="etl")
    return apps


def _post(client, path: str, body: dict, key: str | None = None):
    headers = {"Idempotency-Key": key} if key else {}
    return client.simulate_post(f"{API}/bulk/{path}", json=body, headers=headers)


def test_bulk_start_applies_app_by_app_with_results(client, fleet, sent):
    resp = _post(client, "start", {"filter": {"group": "scrapers", "parent": "registry"}})
    assert resp.status_code == 202, resp.text
    job = resp.json["data"]
    assert resp.headers["location"] == f"{API}/bulk/jobs/{job['id']}" == job["url"]
    assert (job["status"], job["matched"], job["command"]) == ("queued", 20, "START")
    assert sent == [job["id"]]

    bulk_worker.apply(job["id"])

    got = client.simulate_get(f"{API}/bulk/jobs/{job['id']}").json["data"]
    assert got["status"] == "completed"
    assert (got["applied"], got["skipped"], got["failed"], got["done"]) == (15, 5, 0, 20)
    results = {r["app_id"]: r for r in got["results"]}
    assert len(results) == 20
    for app_id in ("scraper_00", "scraper_01"):
        assert results[app_id]["outcome"] == "skipped"
        assert "disabled" in results[app_id]["reason"]
    for app_id in ("scraper_02", "scraper_03", "scraper_04"):
        assert results[app_id]["outcome"] == "skipped"
        assert "running" in results[app_id]["reason"]
    applied = [r for r in got["results"] if r["outcome"] == "applied"]
    commands = Command.select().where(Command.bulk_job_id == job["id"])
    assert {c.id for c in commands} == {r["command_id"] for r in applied}
    assert Outbox.select().count() == 15  # the same outbox path as a single command
    assert Apps.get_by_id("scraper_10").command_flag is CommandFlag.START
    assert Apps.get_by_id("other_0").command_flag is CommandFlag.NONE

    assert AuditLog.select().where(AuditLog.action == "bulk.start").count() == 1
    per_app = AuditLog.select().where(AuditLog.action == "apps.start")
    assert [row.summary["bulk_job_id"] for row in per_app] == [job["id"]] * 15

    listed = client.simulate_get(f"{API}/bulk/jobs").json
    assert [j["id"] for j in listed["data"]] == [job["id"]]
    assert listed["meta"]["total"] == 1


def test_rerun_after_a_crash_commands_no_app_twice(client, fleet, sent):
    job = _post(client, "command", {"filter": {"group": "scrapers"}, "command": "START"})
    job_id = job.json["data"]["id"]
    # a worker handled the first apps, then died before finishing
    first = BulkJob.get_by_id(job_id)
    actor = bulk.Actor(subject=first.requested_by)
    for app_id in first.app_ids[:8]:
        bulk._apply_one(first, app_id, actor)
    bulk_worker.apply(job_id)  # redelivered
    bulk_worker.apply(job_id)  # and once more: nothing left to do
    assert Command.select().where(Command.bulk_job_id == job_id).count() == 15
    assert BulkJobItem.select().where(BulkJobItem.job == job_id).count() == 20
    again = bulk.get_job(job_id)
    assert (again["applied"], again["skipped"], again["status"]) == (15, 5, "completed")


def test_idempotency_key_returns_the_same_job(client, fleet, sent):
    body = {"filter": {"group": "scrapers"}}
    first = _post(client, "stop", body, key="retry-me-1")
    second = _post(client, "stop", body, key="retry-me-1")
    assert first.status_code == second.status_code == 202
    assert first.json["data"]["id"] == second.json["data"]["id"]
    assert second.headers["location"] == first.headers["location"]
    assert BulkJob.select().count() == 1
    other = _post(client, "stop", body, key="another-key")
    assert other.json["data"]["id"] != first.json["data"]["id"]


def test_empty_filter_is_refused(client, fleet, sent):
    for body in ({"filter": {}}, {"filter": {"app_ids": []}}):
        resp = _post(client, "start", body)
        assert resp.status_code == 400, resp.text
        assert resp.json["error"]["details"][0]["field"] == "filter"
    assert _post(client, "start", {}).status_code == 422  # no filter at all
    assert _post(client, "command", {"filter": {"group": "x"}, "command": "NUKE"}).status_code == (
        422
    )
    assert BulkJob.select().count() == 0
    assert sent == []


def test_cap_on_matched_apps(client, services, fleet, sent, monkeypatch):
    monkeypatch.setattr(services.settings, "bulk_max_apps", 10)
    resp = _post(client, "start", {"filter": {"group": "scrapers"}})
    assert resp.status_code == 400
    assert "more than the limit of 10" in resp.json["error"]["message"]
    assert _post(client, "start", {"filter": {"group": "etl"}}).status_code == 202


def test_dry_run_lists_matches_and_changes_nothing(client, fleet, sent):
    resp = _post(
        client,
        "command",
        {
            "filter": {"app_ids": ["other_1", "other_0", "nope"]},
            "command": "DISABLE",
            "dry_run": True,
        },
    )
    assert resp.status_code == 200
    assert resp.json["data"] == {"dry_run": True, "matched": 2, "app_ids": ["other_0", "other_1"]}
    assert BulkJob.select().count() == 0
    assert sent == []


def test_disable_enable_and_reset(client, fleet, sent):
    resp = _post(client, "command", {"filter": {"group": "etl"}, "command": "DISABLE"})
    bulk_worker.apply(resp.json["data"]["id"])
    assert Apps.select().where(Apps.group == "etl", Apps.disabled == True).count() == 5  # noqa: E712
    assert Apps.get_by_id("other_0").version == 2
    again = _post(client, "command", {"filter": {"app_ids": ["other_0"]}, "command": "DISABLE"})
    job = bulk.apply_job(again.json["data"]["id"])
    assert (job["applied"], job["skipped"]) == (0, 1)

    Apps.update(fatal_flag=FatalFlag.FATAL).where(Apps.id == "scraper_19").execute()
    resp = _post(client, "command", {"filter": {"fatal_flag": "FATAL"}, "command": "RESET"})
    job = bulk.apply_job(resp.json["data"]["id"])
    assert (job["matched"], job["applied"]) == (1, 1)
    assert Apps.get_by_id("scraper_19").fatal_flag is FatalFlag.NO_FATAL


def test_viewer_may_read_but_not_create(client_as, client, fleet, sent):
    viewer = client_as(Role.VIEWER)
    assert _post(viewer, "start", {"filter": {"group": "scrapers"}}).status_code == 403
    job_id = _post(client, "start", {"filter": {"group": "etl"}}).json["data"]["id"]
    assert viewer.simulate_get(f"{API}/bulk/jobs/{job_id}").status_code == 200
    assert viewer.simulate_get(f"{API}/bulk/jobs").status_code == 200
    assert client_as(Role.OPERATOR).simulate_get(f"{API}/bulk/jobs/nope").status_code == 404


def test_the_actor_on_a_worker(client, fleet, stub_worker):
    resp = _post(client, "start", {"filter": {"group": "etl"}})
    assert resp.status_code == 202
    broker.join(bulk_worker.QUEUE)
    stub_worker.join()
    job = bulk.get_job(resp.json["data"]["id"])
    assert (job["status"], job["applied"]) == ("completed", 5)


@pytest.fixture
def stub_worker():
    broker.flush_all()
    worker = dramatiq.Worker(broker, worker_timeout=100)
    worker.start()
    yield worker
    worker.stop()


def _refusing_broker(job_id: str) -> None:
    raise ConnectionError("broker unreachable")


def test_a_job_the_broker_refused_is_sent_again_by_the_sweep(
    client, fleet, monkeypatch, stub_worker
):
    monkeypatch.setattr(bulk_resource, "enqueue_job", _refusing_broker)
    resp = _post(client, "start", {"filter": {"group": "etl"}})
    assert resp.status_code == 202  # accepted: the job row is committed
    job_id = resp.json["data"]["id"]
    assert bulk.get_job(job_id)["status"] == "queued"

    # too young to be called lost: the sweep leaves it
    assert bulk_worker.requeue_stale_jobs(minutes=5) == 0
    BulkJob.update(created=utcnow() - dt.timedelta(minutes=6)).where(BulkJob.id == job_id).execute()
    assert bulk_worker.requeue_stale_jobs(minutes=5) == 1
    assert bulk_worker.requeue_stale_jobs(minutes=5) == 0  # re-sent just now: not again

    broker.join(bulk_worker.QUEUE)
    stub_worker.join()
    job = bulk.get_job(job_id)
    assert (job["status"], job["applied"]) == ("completed", 5)
    assert Command.select().where(Command.bulk_job_id == job_id).count() == 5


def test_the_sweep_leaves_running_and_finished_jobs_alone(client, fleet, sent):
    resp = _post(client, "start", {"filter": {"group": "etl"}})
    job_id = resp.json["data"]["id"]
    bulk_worker.apply(job_id)
    BulkJob.update(created=utcnow() - dt.timedelta(hours=1)).where(BulkJob.id == job_id).execute()
    assert bulk.stale_queued(dt.timedelta(minutes=5)) == []
