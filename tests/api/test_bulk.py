"""Bulk jobs through the API and the actor, on both dialects.

The POST sends through the app's task queue (on the in-process broker set up); most
tests capture the job id and run the actor's function directly, one runs a real
``dramatiq.Worker`` on the stub.
"""

from __future__ import annotations

import datetime as dt

import dramatiq
import pytest

from control.apps.models import Apps
from control.audit.models import AuditLog
from control.auth.roles import Role
from control.bulk import apply as bulk_apply
from control.bulk import recovery
from control.bulk import services as bulk
from control.bulk.models import BulkJob, BulkJobItem, BulkStatus
from control.clock import utcnow
from control.commands.models import Command, Outbox
from control.enums import CommandFlag, FatalFlag, RunStatus
from control.tasks.memory import InProcessTaskQueue
from tests.factories import make_app
from workers import bulk as bulk_worker

API = "/api/v1"


@pytest.fixture
def sent(monkeypatch, tasks) -> list[str]:
    """The job ids the API handed to its task queue (kept instead of sent)."""
    ids: list[str] = []
    monkeypatch.setattr(tasks, "send", lambda actor, job_id, **options: ids.append(job_id))
    return ids


def apply(job_id: str) -> None:
    """The actor's work, called directly (what it would send on is kept, not sent)."""
    bulk_worker.apply(job_id, InProcessTaskQueue())


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

    apply(job["id"])

    got = client.simulate_get(f"{API}/bulk/jobs/{job['id']}").json["data"]
    assert got["status"] == "completed"
    assert job["created"] <= got["started"] <= got["finished"]
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
        bulk_apply._apply_one(first, app_id, actor)
    apply(job_id)  # redelivered
    apply(job_id)  # and once more: nothing left to do
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
    data = resp.json["data"]
    assert (data["dry_run"], data["command"], data["matched"]) == (True, "DISABLE", 2)
    assert data["app_ids"] == ["other_0", "other_1"]
    assert (data["would_apply"], data["would_skip"]) == (2, 0)
    assert BulkJob.select().count() == 0
    assert sent == []


def test_disable_enable_and_reset(client, fleet, sent):
    resp = _post(client, "command", {"filter": {"group": "etl"}, "command": "DISABLE"})
    apply(resp.json["data"]["id"])
    assert Apps.select().where(Apps.group == "etl", Apps.disabled == True).count() == 5  # noqa: E712
    assert Apps.get_by_id("other_0").version == 2
    again = _post(client, "command", {"filter": {"app_ids": ["other_0"]}, "command": "DISABLE"})
    job = bulk_apply.apply_job(again.json["data"]["id"])
    assert (job["applied"], job["skipped"]) == (0, 1)

    Apps.update(fatal_flag=FatalFlag.FATAL).where(Apps.id == "scraper_19").execute()
    resp = _post(client, "command", {"filter": {"fatal_flag": "FATAL"}, "command": "RESET"})
    job = bulk_apply.apply_job(resp.json["data"]["id"])
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
    stub_worker.broker.join(bulk_worker.QUEUE)
    stub_worker.join()
    job = bulk.get_job(resp.json["data"]["id"])
    assert (job["status"], job["applied"]) == ("completed", 5)


@pytest.fixture
def stub_worker(stub_broker):
    stub_broker.flush_all()
    worker = dramatiq.Worker(stub_broker, worker_timeout=100)
    worker.start()
    yield worker
    worker.stop()


def _refusing_broker(*args: object, **options: object) -> None:
    raise ConnectionError("broker unreachable")


def test_a_job_the_broker_refused_is_sent_again_by_the_sweep(
    client, fleet, monkeypatch, stub_worker, tasks
):
    monkeypatch.setattr(tasks, "send", _refusing_broker)
    resp = _post(client, "start", {"filter": {"group": "etl"}})
    # the job row is committed but the broker did not take it: 503, and where to look
    assert resp.status_code == 503, resp.text
    assert resp.headers["retry-after"] == "30"
    job_id = resp.headers["location"].rsplit("/", 1)[1]
    assert bulk.get_job(job_id)["status"] == "queued"

    # too young to be called lost: the sweep leaves it
    monkeypatch.undo()  # the broker is back
    assert bulk_worker.requeue_stale_jobs(tasks, minutes=5) == 0
    BulkJob.update(created=utcnow() - dt.timedelta(minutes=6)).where(BulkJob.id == job_id).execute()
    assert bulk_worker.requeue_stale_jobs(tasks, minutes=5) == 1
    assert bulk_worker.requeue_stale_jobs(tasks, minutes=5) == 0  # re-sent just now: not again

    stub_worker.broker.join(bulk_worker.QUEUE)
    stub_worker.join()
    job = bulk.get_job(job_id)
    assert (job["status"], job["applied"]) == ("completed", 5)
    assert Command.select().where(Command.bulk_job_id == job_id).count() == 5


def test_the_sweep_leaves_finished_and_progressing_jobs_alone(client, fleet, sent):
    resp = _post(client, "start", {"filter": {"group": "etl"}})
    job_id = resp.json["data"]["id"]
    apply(job_id)
    BulkJob.update(created=utcnow() - dt.timedelta(hours=1)).where(BulkJob.id == job_id).execute()
    assert recovery.stale_jobs(dt.timedelta(minutes=5)) == []  # completed

    hour_ago = utcnow() - dt.timedelta(hours=1)
    BulkJob.update(status=BulkStatus.RUNNING, progressed_at=utcnow()).execute()
    assert recovery.stale_jobs(dt.timedelta(minutes=5)) == []  # running, progressing
    BulkJob.update(progressed_at=hour_ago, started=hour_ago).execute()
    assert recovery.stale_jobs(dt.timedelta(minutes=5)) == [job_id]  # stalled
    assert recovery.stale_jobs(dt.timedelta(minutes=5)) == []  # re-sent just now


# -- the spec's body, and a dry run that says what the job would do ----------------------


def test_the_specs_example_body_is_accepted(client, fleet, sent):
    body = {"filter": {"group": "scrapers", "parent": "registry"}, "command": "START"}
    resp = _post(client, "start", body)
    assert resp.status_code == 202, resp.text
    assert resp.json["data"]["command"] == "START"
    stop = _post(client, "stop", {"filter": {"group": "etl"}, "command": "stop"})
    assert stop.status_code == 202, stop.text
    assert stop.json["data"]["command"] == "STOP"
    assert len(sent) == 2


@pytest.mark.parametrize(("path", "command"), [("start", "STOP"), ("stop", "start"), ("start", "")])
def test_a_body_command_contradicting_the_path_is_a_422(client, fleet, sent, path, command):
    resp = _post(client, path, {"filter": {"group": "etl"}, "command": command})
    assert resp.status_code == 422, resp.text
    assert [d["field"] for d in resp.json["error"]["details"]] == ["command"]
    assert BulkJob.select().count() == 0
    assert sent == []


def test_dry_run_says_per_app_what_would_be_applied_or_skipped_and_why(client, fleet, sent):
    Apps.update(fatal_flag=FatalFlag.FATAL).where(Apps.id == "scraper_05").execute()
    Apps.update(command_flag=CommandFlag.STOP).where(Apps.id == "scraper_06").execute()
    body = {"filter": {"group": "scrapers"}, "command": "START", "dry_run": True}
    resp = _post(client, "start", body)
    assert resp.status_code == 200, resp.text
    data = resp.json["data"]
    verdicts = {a["app_id"]: (a["outcome"], a["reason"]) for a in data["apps"]}
    assert verdicts["scraper_00"] == ("skipped", "disabled")
    assert verdicts["scraper_02"] == ("skipped", "already_running")
    assert verdicts["scraper_05"] == ("skipped", "fatal")
    assert verdicts["scraper_06"] == ("skipped", "command_pending")
    assert verdicts["scraper_07"] == ("applied", None)
    assert data["skipped_by_reason"] == {
        "already_running": 3,
        "command_pending": 1,
        "disabled": 2,
        "fatal": 1,
    }
    assert (data["matched"], data["would_apply"], data["would_skip"]) == (20, 13, 7)
    assert all(a["message"] for a in data["apps"] if a["outcome"] == "skipped")
    assert BulkJob.select().count() == 0
    assert sent == []

    # the job does what the dry run announced, app by app
    job_id = _post(client, "start", {"filter": {"group": "scrapers"}}).json["data"]["id"]
    bulk_apply.apply_job(job_id)
    done = bulk.get_job(job_id)
    assert {r["app_id"]: r["outcome"] for r in done["results"]} == {
        a["app_id"]: a["outcome"] for a in data["apps"]
    }
    assert {r["app_id"]: r["reason"] for r in done["results"] if r["reason"]} == {
        a["app_id"]: a["message"] for a in data["apps"] if a["message"]
    }


def test_a_chunk_takes_as_many_statements_for_60_apps_as_for_6(db, monkeypatch):
    """Set-based: the chunk's statements do not grow with its apps (each a command, an
    outbox row, an audit row and a result row), and every app is commanded once."""
    for n in range(60):
        make_app(id=f"many_{n:02d}", group="many")
    for n in range(6):
        make_app(id=f"few_{n}", group="few")
    statements: list[str] = []
    execute_sql = db.execute_sql

    def counting(sql, params=None, *args, **kwargs):
        statements.append(sql)
        return execute_sql(sql, params, *args, **kwargs)

    counts = []
    for group in ("few", "many"):
        created = bulk.create_job({"group": group}, "START", bulk.Actor("ops@example.com"))
        assert created.job is not None
        job_id = created.job["id"]
        bulk_apply.take_up(job_id)
        statements.clear()
        monkeypatch.setattr(db, "execute_sql", counting)
        job = bulk_apply.apply_chunk(job_id, 0, created.job["matched"])
        monkeypatch.setattr(db, "execute_sql", execute_sql)
        counts.append(len(statements))
        assert (job["status"], job["applied"]) == ("completed", created.job["matched"])
        commanded = Command.select().where(Command.bulk_job_id == job_id).count()
        assert commanded == created.job["matched"]
        per_app = AuditLog.select().where(AuditLog.action == "apps.start").count()
        assert per_app == Command.select().count()
    assert 0 < counts[0] == counts[1] < 30, statements


def test_a_bulk_stop_supersedes_a_pending_start_as_a_single_stop_does(db):
    from control.commands import services as commands
    from control.commands.models import CommandStatus

    for n in range(3):
        make_app(id=f"pend_{n}", group="pend", run_status=RunStatus.IDLE)
    actor = bulk.Actor("ops@example.com")
    pending = commands.issue_command("pend_1", CommandFlag.START, actor)
    created = bulk.create_job({"group": "pend"}, "STOP", actor)
    assert created.job is not None
    job = bulk_apply.apply_job(created.job["id"])
    # idle apps have nothing to stop; the one with a START pending has it superseded
    assert (job["applied"], job["skipped"]) == (1, 2)
    [result] = [r for r in bulk.get_job(job["id"])["results"] if r["outcome"] == "applied"]
    assert result["app_id"] == "pend_1"
    old = Command.get_by_id(pending.id)
    assert old.status is CommandStatus.FAILED
    assert old.error == f"superseded by STOP command {result['command_id']}"
    assert Apps.get_by_id("pend_1").command_flag is CommandFlag.STOP
    assert not Outbox.select().where(Outbox.message_id == pending.id).exists()
