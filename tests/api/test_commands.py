"""Commands (start/stop/reset, status, ack), PATCH with ETags, and the ETA, on both dialects.

The app here runs in production mode (a broker URL is configured), so no relay thread
runs inside the web process: each test calls ``relay_once`` itself, with the in-process
transport, and sees every state in between. The last test runs the embedded default.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import queue
import threading
import time
import zoneinfo

import falcon.testing
import orjson
import pytest
from croniter import croniter

from control.apps.models import Apps
from control.audit.models import AuditLog
from control.auth import clients
from control.auth.roles import Role
from control.auth.tokens import new_id
from control.clock import utcnow
from control.commands import memory_transport
from control.commands import services as commands
from control.commands.memory_transport import MemoryTransport, Message
from control.commands.models import Command, CommandStatus, Outbox
from control.commands.relay import relay_once
from control.commands.transport import Confirmed, Outgoing
from control.enums import CommandFlag, FatalFlag, RunStatus, RuntimeStatus
from control.errors import Conflict, Unavailable
from control.kv.memory import MemoryStore
from control.settings import load_settings
from tests.factories import make_app, make_runtime
from web.app import create_app
from web.wiring import build_services

API = "/api/v1"


@pytest.fixture
def settings(db):
    """Production mode: commands wait in the outbox until a relay (the test) sends them."""
    return load_settings(
        environment="test",
        rate_limit_per_minute=100_000,
        auth_rate_limit_per_minute=100_000,
        rabbitmq_url="amqp://guest:guest@127.0.0.1:5672/%2F",
    )


@pytest.fixture
def service_client(app, services, db) -> tuple[falcon.testing.TestClient, str]:
    """A registered service client's API client and its client id."""
    registered = clients.create_client(f"manager-{new_id()[:6]}", Role.SERVICE).client
    token = services.tokens.issue(
        subject=registered.client_id,
        role=Role.SERVICE,
        subject_type="service",
        use="access",
        session_id=new_id(),
    ).token
    client = falcon.testing.TestClient(app, headers={"Authorization": f"Bearer {token}"})
    return client, registered.client_id


def post(client, app_id: str, verb: str):
    return client.simulate_post(f"{API}/apps/{app_id}/{verb}")


def relay_to(transport: MemoryTransport) -> int:
    sent = relay_once(transport)
    assert transport.drain(5)
    return sent


def subscribed(pattern: str = "#") -> tuple[MemoryTransport, list[Message]]:
    transport = MemoryTransport()
    received: list[Message] = []
    transport.subscribe(pattern, received.append)
    return transport, received


def audit_rows(action: str) -> list[AuditLog]:
    return list(AuditLog.select().where(AuditLog.action == action).order_by(AuditLog.id))


# -- accepting a command ---------------------------------------------------------------


def test_start_answers_202_with_the_command_url(client, db):
    target = make_app()
    r = post(client, target.id, "start")
    assert r.status_code == 202
    data = r.json["data"]
    assert set(data) == {"id", "status", "url"}
    assert len(data["id"]) == 32
    int(data["id"], 16)
    assert data["status"] == "pending"
    assert data["url"] == f"{API}/commands/{data['id']}"
    assert r.headers["location"] == data["url"]


def test_one_request_writes_flag_command_outbox_and_audit(client, db):
    target = make_app(id="scraper.de_registry", group="de", parent="gazette.v2")
    before = utcnow()
    r = post(client, target.id, "start")
    command_id = r.json["data"]["id"]

    app = Apps.get_by_id(target.id)
    assert app.command_flag is CommandFlag.START
    assert before <= app.command_updated <= utcnow()
    assert app.version == target.version  # a command is not a configuration write

    command = Command.get_by_id(command_id)
    assert command.app == target.id
    assert command.command is CommandFlag.START
    assert command.status is CommandStatus.PENDING
    assert command.requested_by.startswith("admin-")
    assert command.published_at is None

    (row,) = Outbox.select()
    assert row.kind == "command"
    assert row.message_id == command_id
    assert row.routing_key == "de.gazette_v2.scraper_de_registry"  # dots become '_'
    assert row.published_at is None
    assert row.attempts == 0
    body = orjson.loads(row.payload)
    assert body == {
        "version": 1,
        "command_id": command_id,
        "command": "START",
        "app_id": "scraper.de_registry",
        "group": "de",
        "parent": "gazette.v2",
        "requested_at": body["requested_at"],
        "requested_by": command.requested_by,
    }
    assert body["requested_at"].endswith("Z")
    assert row.headers == {
        "dc-kind": "command",
        "dc-command": "START",
        "dc-app-id": "scraper.de_registry",
    }

    (audit,) = audit_rows("apps.start")  # written by the command's transaction, only once
    assert audit.outcome == "success"
    assert audit.status == 202
    assert audit.method == "POST"
    assert audit.endpoint == f"{API}/apps/{target.id}/start"
    assert audit.actor == command.requested_by
    assert audit.role == "admin"
    assert audit.summary["command_id"] == command_id
    assert audit.summary["params"] == {"app_id": target.id}


def test_a_refused_command_leaves_only_the_refusal_in_the_audit_log(client, db):
    target = make_app(disabled=True)
    r = post(client, target.id, "start")
    assert r.status_code == 409
    assert Command.select().count() == 0
    assert Outbox.select().count() == 0
    assert Apps.get_by_id(target.id).command_flag is CommandFlag.NONE
    (audit,) = audit_rows("apps.start")
    assert (audit.outcome, audit.status) == ("failed", 409)


@pytest.mark.parametrize(
    ("state", "verb", "field", "words"),
    [
        ({"disabled": True}, "start", "disabled", "disabled"),
        ({"fatal_flag": FatalFlag.FATAL}, "start", "fatal_flag", "reset it first"),
        ({"run_status": RunStatus.RUNNING}, "start", "run_status", "running"),
        ({"run_status": RunStatus.STOPPING}, "start", "run_status", "stopping"),
        ({"run_status": RunStatus.IDLE}, "stop", "run_status", "nothing to stop"),
        ({"run_status": RunStatus.FAILED}, "stop", "run_status", "nothing to stop"),
        ({"fatal_flag": FatalFlag.NO_FATAL}, "reset", "fatal_flag", "not fatal"),
        ({"command_flag": CommandFlag.STOP}, "start", "command_flag", "STOP command is pending"),
        (
            {"command_flag": CommandFlag.START, "run_status": RunStatus.IDLE},
            "start",
            "command_flag",
            "START command is pending",
        ),
        (
            {"command_flag": CommandFlag.STOP, "run_status": RunStatus.RUNNING},
            "stop",
            "command_flag",
            "pending",
        ),
        (
            {"command_flag": CommandFlag.RESET, "fatal_flag": FatalFlag.FATAL},
            "reset",
            "command_flag",
            "pending",
        ),
    ],
)
def test_commands_that_make_no_sense_are_409(client, db, state, verb, field, words):
    target = make_app(**state)
    r = post(client, target.id, verb)
    assert r.status_code == 409
    error = r.json["error"]
    assert error["code"] == "CONFLICT"
    assert words in error["message"]
    assert error["details"] == [{"field": field, "message": error["message"]}]
    assert Command.select().count() == 0
    assert Apps.get_by_id(target.id).command_flag is CommandFlag(
        state.get("command_flag", CommandFlag.NONE)
    )


@pytest.mark.parametrize(
    ("state", "verb"),
    [
        ({"run_status": RunStatus.IDLE}, "start"),
        ({"run_status": RunStatus.SCHEDULED}, "start"),
        ({"run_status": RunStatus.FAILED}, "start"),
        ({"run_status": RunStatus.RUNNING}, "stop"),
        ({"run_status": RunStatus.SCHEDULED}, "stop"),
        ({"run_status": RunStatus.STOPPING}, "stop"),
        ({"fatal_flag": FatalFlag.FATAL, "run_status": RunStatus.FAILED}, "reset"),
    ],
)
def test_commands_that_make_sense_are_accepted(client, db, state, verb):
    target = make_app(**state)
    assert post(client, target.id, verb).status_code == 202
    assert Apps.get_by_id(target.id).command_flag is CommandFlag(verb.upper())


def test_unknown_app_and_command_are_404(client, db):
    assert post(client, "no_such_app", "start").status_code == 404
    assert client.simulate_get(f"{API}/commands/{'0' * 32}").status_code == 404
    assert client.simulate_post(f"{API}/commands/{'0' * 32}/ack").status_code == 404


def test_reset_clears_the_fatal_state_and_still_tells_the_manager(client, db):
    target = make_app(
        fatal_flag=FatalFlag.FATAL,
        fatal_reason="login page changed",
        consecutive_failures=3,
        run_status=RunStatus.FAILED,
    )
    r = post(client, target.id, "reset")
    assert r.status_code == 202
    app = Apps.get_by_id(target.id)
    assert app.fatal_flag is FatalFlag.NO_FATAL
    assert app.fatal_reason is None
    assert app.consecutive_failures == 0
    assert app.command_flag is CommandFlag.RESET
    (row,) = Outbox.select()
    assert orjson.loads(row.payload)["command"] == "RESET"
    # once the manager took the RESET, the app can be started
    Apps.update(command_flag=CommandFlag.NONE).where(Apps.id == target.id).execute()
    assert post(client, target.id, "start").status_code == 202


def test_stop_supersedes_a_pending_start(client, db):
    target = make_app()
    first = post(client, target.id, "start").json["data"]["id"]
    r = post(client, target.id, "stop")
    assert r.status_code == 202
    second = r.json["data"]["id"]
    assert Apps.get_by_id(target.id).command_flag is CommandFlag.STOP
    old = client.simulate_get(f"{API}/commands/{first}").json["data"]
    assert old["status"] == "failed"
    assert old["error"] == f"superseded by STOP command {second}"
    # the START never leaves the outbox: only the STOP is published
    transport, received = subscribed()
    assert relay_to(transport) == 1
    assert [m.message_id for m in received] == [second]
    assert orjson.loads(received[0].body)["command"] == "STOP"
    # and the superseded command cannot be acknowledged
    assert client.simulate_post(f"{API}/commands/{first}/ack").status_code == 409


# -- following a command ---------------------------------------------------------------


def test_command_goes_pending_published_acknowledged(client, service_client, db):
    manager, manager_id = service_client
    target = make_app(group="fr", parent="courts")
    command_id = post(client, target.id, "start").json["data"]["id"]
    url = f"{API}/commands/{command_id}"

    pending = client.simulate_get(url).json["data"]
    assert pending["status"] == "pending"
    assert pending["published_at"] is None
    assert pending["app_id"] == target.id
    assert pending["command"] == "START"
    assert pending["url"] == url

    transport, received = subscribed("fr.#")
    assert relay_to(transport) == 1
    assert relay_to(transport) == 0  # nothing left: published once
    (message,) = received
    assert message.message_id == command_id
    assert message.routing_key == f"fr.courts.{target.id}"
    assert message.content_type == "application/json"
    assert message.delivery_mode == 2
    assert orjson.loads(message.body)["command_id"] == command_id

    published = client.simulate_get(url).json["data"]
    assert published["status"] == "published"
    assert published["published_at"] is not None
    assert Outbox.get(Outbox.message_id == command_id).published_at is not None

    r = manager.simulate_post(f"{url}/ack")
    assert r.status_code == 200
    acked = r.json["data"]
    assert acked["status"] == "acknowledged"
    assert acked["acknowledged_by"] == manager_id
    assert acked["acknowledged_at"] is not None
    assert Apps.get_by_id(target.id).command_flag is CommandFlag.NONE
    assert client.simulate_get(url).json["data"]["status"] == "acknowledged"
    again = manager.simulate_post(f"{url}/ack")  # idempotent
    assert again.status_code == 200
    assert again.json["data"]["acknowledged_at"] == acked["acknowledged_at"]
    (audit,) = audit_rows("commands.ack")[:1]
    assert audit.actor == manager_id


def test_a_manager_clearing_the_flag_acknowledges(client, db):
    target = make_app()
    command_id = post(client, target.id, "start").json["data"]["id"]
    relay_to(MemoryTransport())
    # what a manager does: take the command and clear the flag in the Apps table
    Apps.update(command_flag=CommandFlag.NONE, run_status=RunStatus.RUNNING).where(
        Apps.id == target.id
    ).execute()
    data = client.simulate_get(f"{API}/commands/{command_id}").json["data"]
    assert data["status"] == "acknowledged"
    assert data["acknowledged_by"] == "manager (command_flag cleared)"
    assert Command.get_by_id(command_id).status is CommandStatus.ACKNOWLEDGED  # persisted


def test_the_next_command_settles_one_the_manager_took_silently(client, db):
    target = make_app()
    first = post(client, target.id, "start").json["data"]["id"]
    Apps.update(command_flag=CommandFlag.NONE, run_status=RunStatus.RUNNING).where(
        Apps.id == target.id
    ).execute()
    # the START was taken from the table before the relay sent it: it is not sent now
    second = post(client, target.id, "stop").json["data"]["id"]
    assert Command.get_by_id(first).status is CommandStatus.ACKNOWLEDGED
    transport, received = subscribed()
    assert relay_to(transport) == 1
    assert [m.message_id for m in received] == [second]


# -- who may ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.VIEWER, 403), (Role.OPERATOR, 202), (Role.ADMIN, 202), (Role.SERVICE, 202)],
)
def test_who_may_start(client_as, db, role, status):
    target = make_app()
    assert post(client_as(role), target.id, "start").status_code == status


def test_service_clients_command_and_acknowledge(client_as, service_client, db):
    manager, _ = service_client
    target = make_app()
    r = post(manager, target.id, "start")
    assert r.status_code == 202
    url = r.json["data"]["url"]
    assert client_as(Role.VIEWER).simulate_get(url).status_code == 200
    assert client_as(Role.VIEWER).simulate_post(f"{url}/ack").status_code == 403
    assert manager.simulate_post(f"{url}/ack").status_code == 200


def test_configuration_is_for_admins(client_as, db):
    target = make_app()
    headers = {"If-Match": 'W/"1"'}
    for role in (Role.VIEWER, Role.OPERATOR, Role.SERVICE):
        r = client_as(role).simulate_patch(
            f"{API}/apps/{target.id}", json={"disabled": True}, headers=headers
        )
        assert r.status_code == 403, role
    assert Apps.get_by_id(target.id).disabled is False


# -- PATCH with optimistic concurrency -------------------------------------------------


def patch(client, app_id: str, body: dict, if_match: str | None):
    headers = {"If-Match": if_match} if if_match is not None else {}
    return client.simulate_patch(f"{API}/apps/{app_id}", json=body, headers=headers)


def test_etag_round_trip_and_version_bumps(client, db):
    target = make_app(settings={"batch_size": 100})
    got = client.simulate_get(f"{API}/apps/{target.id}")
    assert got.headers["etag"] == 'W/"1"'
    assert got.json["data"]["version"] == 1

    r = patch(client, target.id, {"settings": {"batch_size": 500}}, got.headers["etag"])
    assert r.status_code == 200
    assert r.headers["etag"] == 'W/"2"'
    assert r.json["data"]["version"] == 2
    assert r.json["data"]["settings"] == {"batch_size": 500}

    r = patch(client, target.id, {"disabled": True}, r.headers["etag"])
    assert r.status_code == 200
    assert r.headers["etag"] == 'W/"3"'
    app = Apps.get_by_id(target.id)
    assert (app.version, app.disabled, app.settings) == (3, True, {"batch_size": 500})
    assert client.simulate_get(f"{API}/apps/{target.id}").headers["etag"] == 'W/"3"'
    (audit, *_) = audit_rows("apps.update")
    assert (audit.outcome, audit.status) == ("success", 200)


def test_a_stale_if_match_is_412_and_changes_nothing(client, db):
    target = make_app()
    etag = client.simulate_get(f"{API}/apps/{target.id}").headers["etag"]
    assert patch(client, target.id, {"disabled": True}, etag).status_code == 200
    r = patch(client, target.id, {"settings": {"lost": "update"}}, etag)
    assert r.status_code == 412
    assert r.json["error"]["code"] == "PRECONDITION_FAILED"
    app = Apps.get_by_id(target.id)
    assert (app.version, app.settings) == (2, {})


@pytest.mark.parametrize("if_match", ['"2"', 'W/"0"', '"abc"', 'W/"01x"'])
def test_if_match_must_name_the_current_version(client, db, if_match):
    target = make_app()
    assert patch(client, target.id, {"disabled": True}, if_match).status_code == 412


def test_if_match_is_required(client, db):
    target = make_app()
    r = patch(client, target.id, {"disabled": True}, None)
    assert r.status_code == 428
    assert r.json["error"]["code"] == "PRECONDITION_REQUIRED"
    assert r.json["error"]["details"][0]["field"] == "If-Match"
    assert Apps.get_by_id(target.id).version == 1


def test_if_match_star_skips_the_check(client, db):
    target = make_app()
    assert patch(client, target.id, {"disabled": True}, "*").status_code == 200
    assert Apps.get_by_id(target.id).version == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"schedule": "*/5 * * *"}, "schedule"),  # four fields
        ({"schedule": "0 */5 * * * *"}, "schedule"),  # six: seconds are not supported
        ({"schedule": "61 * * * *"}, "schedule"),
        ({"schedule": "every day"}, "schedule"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"timezone": "../../etc/passwd"}, "timezone"),
        ({"timezone": None}, "timezone"),
        ({"settings": [1, 2]}, "settings"),
        ({"disabled": None}, "disabled"),
        ({"version": 7}, "version"),  # not writable
        ({}, "body"),
    ],
)
def test_invalid_configuration_is_422_naming_the_field(client, db, body, field):
    target = make_app()
    r = patch(client, target.id, body, 'W/"1"')
    assert r.status_code == 422
    assert field in [d["field"] for d in r.json["error"]["details"]]
    assert Apps.get_by_id(target.id).version == 1


def test_unknown_app_is_404(client, db):
    assert patch(client, "no_such_app", {"disabled": True}, 'W/"1"').status_code == 404


def test_next_run_follows_a_new_schedule_in_its_time_zone(client, db):
    target = make_app(schedule="*/30 * * * *", timezone="UTC", next_run=dt.datetime(2000, 1, 1))
    before = utcnow()
    r = patch(client, target.id, {"schedule": "30  2 * * *", "timezone": "Europe/Berlin"}, 'W/"1"')
    after = utcnow()
    assert r.status_code == 200
    data = r.json["data"]
    assert data["schedule"] == "30 2 * * *"  # whitespace normalised
    assert data["timezone"] == "Europe/Berlin"
    next_run = Apps.get_by_id(target.id).next_run
    # by hand: 02:30 in Berlin is 01:30 UTC in winter, 00:30 UTC in summer, within a day
    assert (next_run.hour, next_run.minute) in ((1, 30), (0, 30))
    assert before < next_run <= after + dt.timedelta(days=1)
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    expected = (
        croniter("30 2 * * *", before.replace(tzinfo=dt.UTC).astimezone(berlin))
        .get_next(dt.datetime)
        .astimezone(dt.UTC)
        .replace(tzinfo=None)
    )
    assert next_run == expected
    assert data["next_run"] == expected.isoformat() + "Z"


def test_a_time_zone_change_alone_moves_next_run(client, db):
    target = make_app(schedule="0 9 * * *", timezone="UTC")
    assert patch(client, target.id, {"timezone": "America/New_York"}, 'W/"1"').status_code == 200
    next_run = Apps.get_by_id(target.id).next_run
    # 09:00 in New York is 14:00 UTC (EST) or 13:00 UTC (EDT)
    assert (next_run.hour, next_run.minute) in ((14, 0), (13, 0))


def test_an_explicit_next_run_wins_and_is_stored_as_utc(client, db):
    target = make_app(schedule="*/30 * * * *")
    r = patch(
        client,
        target.id,
        {"schedule": "0 6 * * 1", "next_run": "2030-01-07T08:00:00+02:00"},
        'W/"1"',
    )
    assert r.status_code == 200
    assert Apps.get_by_id(target.id).next_run == dt.datetime(2030, 1, 7, 6, 0)
    assert r.json["data"]["next_run"] == "2030-01-07T06:00:00Z"


def test_removing_the_schedule_clears_next_run(client, db):
    target = make_app(schedule="*/30 * * * *", next_run=dt.datetime(2030, 1, 1))
    assert patch(client, target.id, {"schedule": None}, 'W/"1"').status_code == 200
    app = Apps.get_by_id(target.id)
    assert (app.schedule, app.next_run) == (None, None)


def test_disabling_through_patch_refuses_a_start(client, db):
    target = make_app()
    assert patch(client, target.id, {"disabled": True}, 'W/"1"').status_code == 200
    assert post(client, target.id, "start").status_code == 409


# -- the detail's ETA ------------------------------------------------------------------


def test_detail_progress_and_eta_from_seeded_rows(client, db):
    target = make_app(run_status=RunStatus.RUNNING)
    started = dt.datetime(2025, 1, 15, 7, 30)
    runtime = make_runtime(target, started=started, status=RuntimeStatus.RUNNING, ended=None)
    Apps.update(
        current_runtime=runtime.id,
        progress_current=986,
        progress_total=3000,
        progress_updated=dt.datetime(2025, 1, 15, 7, 40),
    ).where(Apps.id == target.id).execute()

    progress = client.simulate_get(f"{API}/apps/{target.id}").json["data"]["progress"]
    # by hand: 986 items in 600 s; 2014 left at 986/600 per s = 1225.56 s, from 07:40:00
    assert progress == {
        "current": 986,
        "total": 3000,
        "updated": "2025-01-15T07:40:00Z",
        "percent": 32.9,
        "eta_seconds": 1225.6,
        "eta": "2025-01-15T08:00:26Z",
    }


def test_detail_without_a_current_run_has_no_eta(client, db):
    target = make_app(progress_current=10, progress_total=100)
    progress = client.simulate_get(f"{API}/apps/{target.id}").json["data"]["progress"]
    assert progress["percent"] == 10.0
    assert progress["eta_seconds"] is None
    assert progress["eta"] is None


# -- the embedded default --------------------------------------------------------------


def test_embedded_start_reaches_an_in_process_subscriber(db, make_user):
    embedded = load_settings(
        environment="test",
        rate_limit_per_minute=100_000,
        auth_rate_limit_per_minute=100_000,
        embedded_background=True,  # the relay thread (tests switch it off by default)
        agent_embedded=False,  # no in-process agent taking the command: only the relay
    )
    assert embedded.embedded
    wiring = build_services(embedded, store=MemoryStore())
    web = create_app(embedded, bind_database=False, services=wiring)
    target = make_app()
    operator = make_user(Role.OPERATOR)
    token = wiring.tokens.issue(
        subject=operator.email,
        role=Role.OPERATOR,
        subject_type="user",
        use="access",
        session_id=new_id(),
    ).token
    headers = {"Authorization": f"Bearer {token}"}
    received: queue.Queue[Message] = queue.Queue()
    unsubscribe = memory_transport.shared().subscribe(f"*.*.{target.id}", received.put)

    async def scenario() -> tuple[Message, float, str]:
        # the conductor runs the lifespan: the relay thread starts with the app
        async with falcon.testing.ASGIConductor(web) as conductor:
            r = await conductor.simulate_post(f"{API}/apps/{target.id}/start", headers=headers)
            assert r.status_code == 202
            sent = time.monotonic()
            message = await asyncio.to_thread(received.get, True, 3)
            latency = time.monotonic() - sent
            status = ""
            for _ in range(50):
                got = await conductor.simulate_get(r.json["data"]["url"], headers=headers)
                status = got.json["data"]["status"]
                if status == "published":
                    break
                await asyncio.sleep(0.05)
            return message, latency, status

    try:
        message, latency, status = asyncio.run(scenario())
    finally:
        unsubscribe()
    assert latency < 2
    assert orjson.loads(message.body)["command"] == "START"
    assert status == "published"  # the relay marked it; nobody acknowledged it


# -- the service under concurrency -----------------------------------------------------


def test_concurrent_starts_accept_exactly_one(db):
    target = make_app()
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def attempt() -> None:
        barrier.wait()
        try:
            commands.issue_command(target.id, CommandFlag.START, commands.Actor("racer"))
            outcomes.append("accepted")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["accepted"] + ["conflict"] * 7
    assert Command.select().count() == 1
    assert Outbox.select().count() == 1
    assert AuditLog.select().where(AuditLog.action == "apps.start").count() == 1


def test_concurrent_relays_publish_each_row_once(db):
    apps = [make_app() for _ in range(40)]
    ids = [commands.issue_command(a.id, "START", commands.Actor("t")).id for a in apps]
    transport, received = subscribed()
    lock = threading.Lock()
    counts: list[int] = []

    def relay_until_empty() -> None:
        while True:
            sent = relay_once(transport, batch=5)
            with lock:
                counts.append(sent)
            if sent == 0:
                return

    threads = [threading.Thread(target=relay_until_empty) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert transport.drain(5)
    assert sum(counts) == 40
    assert sorted(m.message_id for m in received) == sorted(ids)
    assert not Outbox.select().where(Outbox.published_at.is_null()).exists()


class FailsOnCall:
    """A transport that confirms every publish but the ``fail_on``-th (1-based)."""

    def __init__(self, fail_on: int) -> None:
        self.fail_on = fail_on
        self.calls: list[str] = []

    def publish(self, routing_key: str, body: bytes, message_id: str, headers=None) -> None:
        self.calls.append(message_id)
        if len(self.calls) == self.fail_on:
            raise Unavailable("RabbitMQ is unreachable.")

    def publish_many(self, messages: list[Outgoing]) -> Confirmed:
        for count, m in enumerate(messages):
            try:
                self.publish(m.routing_key, m.body, m.message_id, m.headers)
            except Unavailable as exc:
                return Confirmed(count, exc)
        return Confirmed(len(messages))


def test_a_failure_mid_batch_marks_only_the_confirmed_rows(db):
    apps = [make_app() for _ in range(5)]
    ids = [commands.issue_command(a.id, "START", commands.Actor("t")).id for a in apps]
    transport = FailsOnCall(fail_on=4)
    assert relay_once(transport, batch=10) == 3  # type: ignore[arg-type]
    assert transport.calls == ids[:4]  # in order, stopping at the failure
    status = {c.id: c.status for c in Command.select()}
    assert [status[i] for i in ids] == [CommandStatus.PUBLISHED] * 3 + [CommandStatus.PENDING] * 2
    rows = {r.message_id: r for r in Outbox.select()}
    assert all(rows[i].published_at is not None for i in ids[:3])
    failed = rows[ids[3]]
    assert (failed.published_at, failed.attempts) == (None, 1)
    assert failed.available_at > utcnow()  # backing off; the fifth waits behind it
    assert (rows[ids[4]].published_at, rows[ids[4]].attempts) == (None, 0)
