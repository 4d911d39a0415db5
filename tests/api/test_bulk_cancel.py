"""Cancelling a bulk job (``POST /bulk/jobs/{id}/cancel``) and pacing one (``rate``).

On both dialects; the actor's work is called directly, or run by a ``dramatiq.Worker``
on the in-process broker to measure a paced job's chunks.
"""

from __future__ import annotations

import dramatiq
import pytest

from control.audit.models import AuditLog
from control.auth.roles import Role
from control.bulk import apply as bulk_apply
from control.bulk import services as bulk
from control.bulk.models import BulkJob, BulkJobItem, BulkStatus
from control.commands.models import Command
from control.tasks.actors import APPLY_BULK_JOB
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


@pytest.fixture
def fleet(db) -> list[str]:
    """12 idle apps in group 'scrapers'."""
    return [make_app(id=f"scraper_{n:02d}", group="scrapers").id for n in range(12)]


def _start(client, body: dict | None = None) -> str:
    resp = client.simulate_post(
        f"{API}/bulk/start", json={"filter": {"group": "scrapers"}} | (body or {})
    )
    assert resp.status_code == 202, resp.json
    return str(resp.json["data"]["id"])


def _cancel(client, job_id: str):
    return client.simulate_post(f"{API}/bulk/jobs/{job_id}/cancel")


def _skipped_cancelled(job_id: str) -> set[str]:
    return {
        row.app_id
        for row in BulkJobItem.select().where(
            (BulkJobItem.job == job_id) & (BulkJobItem.reason == "cancelled")
        )
    }


def test_a_queued_job_cancelled_commands_nothing(client, fleet, sent):
    job_id = _start(client)
    resp = _cancel(client, job_id)
    assert resp.status_code == 202
    assert resp.headers["location"] == f"{API}/bulk/jobs/{job_id}"
    data = resp.json["data"]
    assert (data["status"], data["applied"], data["skipped"], data["done"]) == (
        "cancelled",
        0,
        12,
        12,
    )
    assert data["cancelled_by"]
    assert data["finished"]
    assert _skipped_cancelled(job_id) == set(fleet)
    # its message, delivered late, does nothing
    bulk_worker.apply(job_id, InProcessTaskQueue())
    assert Command.select().count() == 0
    assert bulk.status(job_id) is BulkStatus.CANCELLED
    [row] = AuditLog.select().where(AuditLog.action == "bulk.jobs.cancel")
    assert row.summary["bulk_job_id"] == job_id
    assert (row.summary["cancelled_apps"], row.status) == (12, 202)
    got = client.simulate_get(f"{API}/bulk/jobs/{job_id}").json["data"]
    assert {r["reason"] for r in got["results"]} == {"cancelled"}


def test_a_running_job_stops_between_chunks(client, fleet, sent, monkeypatch):
    monkeypatch.setattr(bulk_apply, "CHUNK_SIZE", 5)
    job_id = _start(client)
    _, pending = bulk_apply.take_up(job_id)
    assert pending == [(0, 5), (5, 10), (10, 12)]
    bulk_apply.apply_chunk(job_id, *pending[0])  # one chunk applied, then the cancel
    data = _cancel(client, job_id).json["data"]
    assert (data["status"], data["applied"], data["skipped"], data["failed"]) == (
        "cancelled",
        5,
        7,
        0,
    )
    for chunk in pending[1:]:  # the chunk messages already sent arrive: nothing happens
        assert bulk_apply.apply_chunk(job_id, *chunk)["status"] == "cancelled"
    assert {c.app for c in Command.select()} == set(fleet[:5])
    assert _skipped_cancelled(job_id) == set(fleet[5:])
    assert bulk_apply.take_up(job_id)[1] == []  # the sweep's re-send finds nothing
    job = BulkJob.get_by_id(job_id)
    assert (job.status, job.applied, job.skipped) == (BulkStatus.CANCELLED, 5, 7)


def test_a_cancel_with_an_empty_json_body_as_dcclient_sends_it(client, fleet, sent):
    job_id = _start(client)
    resp = client.simulate_post(f"{API}/bulk/jobs/{job_id}/cancel", json={})
    assert resp.status_code == 202
    assert resp.json["data"]["status"] == "cancelled"


def test_a_finished_job_is_a_409_an_unknown_one_a_404(client, fleet, sent):
    job_id = _start(client)
    bulk_apply.apply_job(job_id)
    resp = _cancel(client, job_id)
    assert resp.status_code == 409
    assert resp.json["error"]["code"] == "CONFLICT"
    assert bulk.status(job_id) is BulkStatus.COMPLETED

    again = _start(client, {"command": "START"} | {"filter": {"app_ids": fleet[:2]}})
    assert _cancel(client, again).status_code == 202
    assert _cancel(client, again).status_code == 409  # cancelled already

    missing = _cancel(client, "nope")
    assert missing.status_code == 404
    assert missing.json["error"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.VIEWER, 403), (Role.OPERATOR, 202), (Role.ADMIN, 202), (Role.SERVICE, 202)],
)
def test_who_may_cancel(client, client_as, fleet, sent, role, status):
    job_id = _start(client)
    assert _cancel(client_as(role), job_id).status_code == status


def test_a_rate_is_kept_and_a_dry_run_is_unchanged_by_it(client, fleet, sent):
    path = f"{API}/bulk/start"
    plain = client.simulate_post(path, json={"filter": {"group": "scrapers"}, "dry_run": True})
    paced = client.simulate_post(
        path, json={"filter": {"group": "scrapers"}, "dry_run": True, "rate": 2}
    )
    assert plain.status_code == paced.status_code == 200
    assert plain.json == paced.json
    assert sent == []
    for bad in (0, -1, "fast"):
        resp = client.simulate_post(path, json={"filter": {"group": "scrapers"}, "rate": bad})
        assert resp.status_code == 422
    job_id = _start(client, {"rate": 2.5})
    assert client.simulate_get(f"{API}/bulk/jobs/{job_id}").json["data"]["rate"] == 2.5


def test_a_paced_jobs_chunks_are_sent_with_delays(client, fleet, sent):
    job_id = _start(client, {"rate": 4})
    tasks = InProcessTaskQueue()
    bulk_worker.apply(job_id, tasks)
    # chunks of 4 apps (the rate), a second apart
    assert [(t.args[1:], t.options) for t in tasks.sent if t.actor == APPLY_BULK_JOB] == [
        ((0, 4), {"delay": 0}),
        ((4, 8), {"delay": 1000}),
        ((8, 12), {"delay": 2000}),
    ]
    unpaced = _start(client, {"filter": {"group": "scrapers"}})
    assert BulkJob.get_by_id(unpaced).rate is None
    assert bulk_apply.chunks(BulkJob.get_by_id(unpaced)) == [(0, 12)]


@pytest.fixture
def stub_worker(stub_broker):
    stub_broker.flush_all()
    worker = dramatiq.Worker(stub_broker, worker_timeout=50)
    worker.start()
    yield worker
    worker.stop()


def test_a_paced_job_does_not_exceed_its_rate(client, fleet, stub_worker):
    """12 apps at 6 per second on a worker: 2 chunks of 6, the second one second after
    the first at least, so the job takes about 1 s where it would take a few ms."""
    job_id = _start(client, {"rate": 6})
    stub_worker.broker.join(bulk_worker.QUEUE)
    stub_worker.broker.join(f"{bulk_worker.QUEUE}.DQ")
    stub_worker.broker.join(bulk_worker.QUEUE)
    stub_worker.join()
    job = bulk.get_job(job_id)
    assert (job["status"], job["applied"]) == ("completed", 12)
    times = sorted(item.created for item in BulkJobItem.select())
    assert len({item.created for item in BulkJobItem.select()}) == 2  # one per chunk
    gap = (times[-1] - times[0]).total_seconds()
    # a second apart (the delay runs from the send; the rows are stamped as the chunks
    # write them, so a few ms of tolerance)
    assert 0.9 <= gap < 5, gap
    assert Command.select().count() == 12
