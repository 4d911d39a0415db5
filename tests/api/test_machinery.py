"""The machinery in view: GET /api/v1/system/agents, /system/queues, the app detail's
hosting agent, and POST /api/v1/runtimes/{id}/notes (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from control.agents.services import Beat, beat
from control.auth.roles import Role
from control.clock import utcnow
from control.commands.models import Outbox
from tests.factories import make_app, make_runtime
from web.schemas.apps import AppDetailResponse
from web.schemas.runtimes import RunNoteResponse, RuntimeDetailResponse
from web.schemas.system import AgentsResponse, SystemQueuesResponse

AGENTS = "/api/v1/system/agents"
QUEUES = "/api/v1/system/queues"


def report(name: str, *, running=(), queued=(), slots: int = 2) -> Beat:
    return Beat(
        name=name,
        host=f"{name}.example",
        groups=("scrapers",),
        slots=slots,
        running=list(running),
        queued=list(queued),
        version="0.5.0",
        started=utcnow() - dt.timedelta(minutes=5),
    )


def test_agents_online_and_offline_by_last_seen(client, db, settings):
    now = utcnow()
    beat(report("alive", running=["a1", "a2"], queued=["a3"]), now=now)
    stale = settings.agent_offline_after_seconds + 1
    beat(report("gone", queued=["b1"]), now=now - dt.timedelta(seconds=stale))

    r = client.simulate_get(AGENTS)
    assert r.status_code == 200, r.text
    AgentsResponse.model_validate(r.json)
    alive, gone = r.json["data"]  # online first
    assert (alive["name"], alive["online"], gone["name"], gone["online"]) == (
        "alive",
        True,
        "gone",
        False,
    )
    assert alive["slots"] == 2
    assert alive["slots_busy"] == 2
    assert alive["running"] == ["a1", "a2"]
    assert alive["queued"] == ["a3"]
    assert alive["groups"] == ["scrapers"]
    assert alive["version"] == "0.5.0"
    assert gone["queued"] == ["b1"]  # an offline agent still names the apps it held
    assert r.json["meta"]["online"] == 1
    assert r.json["meta"]["offline"] == 1


def test_a_beat_replaces_the_row(client, db):
    beat(report("one", queued=["x"]))
    beat(report("one", running=["x"]))
    (agent,) = client.simulate_get(AGENTS).json["data"]
    assert agent["running"] == ["x"]
    assert agent["queued"] == []


def test_app_detail_names_its_agent_and_the_wait_for_a_slot(client, db):
    waiting = make_app(id="app_waiting")
    running = make_app(id="app_running")
    alone = make_app(id="app_alone")
    beat(report("agent-1", running=[running.id], queued=[waiting.id]))

    r = client.simulate_get(f"/api/v1/apps/{waiting.id}")
    assert r.status_code == 200, r.text
    AppDetailResponse.model_validate(r.json)
    assert r.json["data"]["agent"] == {
        "name": "agent-1",
        "online": True,
        "waiting_for_slot": True,
    }
    shown = client.simulate_get(f"/api/v1/apps/{running.id}").json["data"]["agent"]
    assert shown == {"name": "agent-1", "online": True, "waiting_for_slot": False}
    shown = client.simulate_get(f"/api/v1/apps/{alone.id}").json["data"]["agent"]
    assert shown == {"name": None, "online": None, "waiting_for_slot": False}


def test_queues_in_process_answer_the_outbox_only(client, db):
    now = utcnow()
    for seconds, published in ((120, None), (30, None), (600, now)):
        Outbox.create(
            kind="command",
            message_id=uuid.uuid4().hex,
            routing_key="commands.x",
            payload="{}",
            created=now - dt.timedelta(seconds=seconds),
            available_at=now,
            published_at=published,
        )
    r = client.simulate_get(QUEUES)
    assert r.status_code == 200, r.text
    SystemQueuesResponse.model_validate(r.json)
    data = r.json["data"]
    assert data["broker"] == "memory"
    assert data["queues"] == []
    assert data["errors"] == []
    assert data["outbox"]["unpublished"] == 2
    assert data["outbox"]["lag_seconds"] == pytest.approx(120, abs=5)


@pytest.mark.parametrize("role", list(Role))
def test_agents_and_queues_are_read_by_every_role(client_as, db, role):
    for url in (AGENTS, QUEUES):
        assert client_as(role).simulate_get(url).status_code == 200


def test_note_round_trip_and_audit(client_as, db):
    app = make_app(id="scraper_notes")
    run = make_runtime(app)
    operator = client_as(Role.OPERATOR)
    url = f"/api/v1/runtimes/{run.id}/notes"

    r = operator.simulate_post(url, json={"text": "  upstream site down  "})
    assert r.status_code == 201, r.text
    RunNoteResponse.model_validate(r.json)
    note = r.json["data"]
    assert note["text"] == "upstream site down"
    assert note["runtime"] == run.id
    operator.simulate_post(url, json={"text": "back at 09:00"})

    detail = operator.simulate_get(f"/api/v1/runtimes/{run.id}")
    RuntimeDetailResponse.model_validate(detail.json)
    texts = [n["text"] for n in detail.json["data"]["notes"]]
    assert texts == ["upstream site down", "back at 09:00"]  # oldest first
    assert detail.json["data"]["notes"][0]["author"] == note["author"]

    feed = client_as(Role.ADMIN).simulate_get(
        "/api/v1/activity", params={"action": "runtimes.note"}
    )
    assert feed.status_code == 200, feed.text
    rows = feed.json["data"]
    assert len(rows) == 2  # one row each: the service's, not the middleware's too
    newest = rows[0]
    assert newest["summary"]["text"] == "back at 09:00"
    assert newest["summary"]["runtime"] == run.id
    assert newest["summary"]["app"] == app.id
    assert newest["status"] == 201
    assert newest["outcome"] == "success"
    assert newest["role"] == "operator"


def test_note_refusals(client_as, db):
    run = make_runtime(make_app(id="scraper_notes2"))
    url = f"/api/v1/runtimes/{run.id}/notes"
    assert client_as(Role.VIEWER).simulate_post(url, json={"text": "x"}).status_code == 403
    operator = client_as(Role.OPERATOR)
    assert operator.simulate_post(url, json={"text": ""}).status_code in (400, 422)
    assert operator.simulate_post(url, json={"text": "   "}).status_code in (400, 422)
    assert operator.simulate_post(url, json={"text": "y" * 2001}).status_code in (400, 422)
    missing = operator.simulate_post("/api/v1/runtimes/nope/notes", json={"text": "x"})
    assert missing.status_code == 404
    detail = operator.simulate_get(f"/api/v1/runtimes/{run.id}").json["data"]
    assert detail["notes"] == []
