"""``/api/v1/notifications`` and ``/api/v1/jobs/dead``: shapes, validation, write-only
secrets, history, test sends, rules and roles (on SQLite and PostgreSQL)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import dramatiq
import orjson
import pytest

from control.audit.models import AuditLog
from control.auth.roles import Role
from control.jobs import services as jobs
from control.notifications import routing
from control.notifications.models import (
    DeliveryStatus,
    NotificationChannel,
    NotificationDelivery,
    Severity,
)
from workers import notifications as notification_actors
from workers.notifications import QUEUE

API = "/api/v1/notifications"
BOT_TOKEN = "987654:ZYXwvuTSRqpONMlkjIHgfe-secret"
SMTP_PASSWORD = "smtp-p4ssw0rd-secret"
WEBHOOK_SECRET = "whsec-abcdef0123456789-secret"
NEW_SECRET = "whsec-rotated-9876543210-secret"
SECRETS = (BOT_TOKEN, SMTP_PASSWORD, WEBHOOK_SECRET, NEW_SECRET)

TELEGRAM = {"bot_token": BOT_TOKEN, "chat_id": "-100123"}
EMAIL = {
    "host": "smtp.example.com",
    "port": 465,
    "username": "alerts",
    "password": SMTP_PASSWORD,
    "from": "alerts@example.com",
    "to": ["oncall@example.com"],
    "security": "ssl",
}
WEBHOOK = {"url": "https://hooks.example.com/dc", "secret": WEBHOOK_SECRET}


@pytest.fixture(autouse=True)
def empty_queue(stub_broker) -> Iterator[None]:
    """Test sends land on the in-process broker set up: no message outlives its test."""
    stub_broker.flush_all()
    yield
    stub_broker.flush_all()


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


def create(client, kind: str = "webhook", config: dict[str, Any] | None = None, **fields):
    body = {"name": fields.pop("name", f"{kind}-channel"), "type": kind}
    body["config"] = (
        config
        if config is not None
        else {"telegram": TELEGRAM, "email": EMAIL, "webhook": WEBHOOK}[kind]
    )
    body.update(fields)
    return client.simulate_post(f"{API}/channels", json=body)


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


def queued_messages() -> list[dramatiq.Message]:
    queue = dramatiq.get_broker().queues[QUEUE]  # the stub broker set up
    return [dramatiq.Message.decode(raw) for raw in list(queue.queue)]


# -- channels --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "shown"),
    [
        ("telegram", {"chat_id": "-100123", "bot_token_set": True}),
        (
            "email",
            {
                "host": "smtp.example.com",
                "port": 465,
                "username": "alerts",
                "from": "alerts@example.com",
                "to": ["oncall@example.com"],
                "security": "ssl",
                "password_set": True,
            },
        ),
        ("webhook", {"url": "https://hooks.example.com/dc", "secret_set": True}),
    ],
)
def test_create_answers_201_with_location_and_no_secret(client, logs, kind, shown):
    result = create(client, kind, events=["app.fatal"], min_severity="error")
    assert result.status_code == 201, result.text
    data = result.json["data"]
    assert result.headers["Location"] == f"{API}/channels/{data['id']}"
    assert data["name"] == f"{kind}-channel"
    assert data["type"] == kind
    assert data["config"] == shown
    assert data["events"] == ["app.fatal"]
    assert data["min_severity"] == "error"
    assert data["enabled"] is True
    assert data["dedup_window_seconds"] == 300
    assert_no_secret(result.text)

    listed = client.simulate_get(f"{API}/channels")
    assert listed.status_code == 200
    assert listed.json["meta"] == {"page": 1, "per_page": 20, "total": 1, "total_pages": 1}
    assert listed.json["data"] == [data]
    one = client.simulate_get(result.headers["Location"])
    assert one.json["data"] == data
    assert_no_secret(listed.text + one.text)
    # nor in the audit trail, nor in any log line of the process
    audit = [orjson.dumps(row.summary).decode() for row in AuditLog.select()]
    assert any(row.action == "notifications.channels.create" for row in AuditLog.select())
    assert_no_secret("\n".join(audit))
    assert_no_secret(logs.text)


def test_secrets_are_encrypted_at_rest(client):
    create(client, "webhook")
    row = NotificationChannel.get()
    assert "secret" not in row.config
    assert WEBHOOK_SECRET not in (row.secrets or "")
    assert row.secrets.startswith("gAAAA")  # a Fernet token


def test_defaults_subscribe_to_every_event(client):
    data = create(client, "webhook").json["data"]
    assert data["events"] == [
        "app.fatal",
        "runtime.failed",
        "pipeline.error_rate",
        "command.failed",
        "app.health",
    ]
    assert data["min_severity"] == "warning"


@pytest.mark.parametrize(
    ("kind", "config", "field"),
    [
        ("webhook", {"url": "ftp://hooks.example.com/", "secret": WEBHOOK_SECRET}, "config.url"),
        ("webhook", {"url": "not a url", "secret": WEBHOOK_SECRET}, "config.url"),
        ("webhook", {"url": "https://h.example.com/", "secret": "short"}, "config.secret"),
        ("webhook", {"url": "https://h.example.com/"}, "config.secret"),
        ("telegram", {"bot_token": BOT_TOKEN}, "config.chat_id"),
        ("telegram", {"bot_token": "no-colon", "chat_id": 1}, "config.bot_token"),
        ("telegram", {**TELEGRAM, "parse_mode": "HTML"}, "config.parse_mode"),
        ("email", {**EMAIL, "to": []}, "config.to"),
        ("email", {**EMAIL, "to": ["not-an-address"]}, "config.to"),
        ("email", {**EMAIL, "security": "tls13"}, "config.security"),
        ("email", {**EMAIL, "port": 0}, "config.port"),
        ("email", {k: v for k, v in EMAIL.items() if k != "from"}, "config.from"),
    ],
)
def test_config_is_checked_per_type(client, kind, config, field):
    result = create(client, kind, config)
    assert result.status_code == 422, result.text
    assert result.json["error"]["code"] == "VALIDATION_ERROR"
    assert field in [d["field"] for d in result.json["error"]["details"]]
    assert_no_secret(result.text)
    assert NotificationChannel.select().count() == 0


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"type": "sms"}, "type"),
        ({"events": ["app.exploded"]}, "events.0"),
        ({"min_severity": "fatal"}, "min_severity"),
        ({"dedup_window_seconds": -1}, "dedup_window_seconds"),
        ({"name": ""}, "name"),
    ],
)
def test_channel_fields_are_checked(client, fields, field):
    body = {"name": "x", "type": "webhook", "config": WEBHOOK, **fields}
    result = client.simulate_post(f"{API}/channels", json=body)
    assert result.status_code == 422
    assert field in [d["field"] for d in result.json["error"]["details"]]


def test_names_are_unique(client):
    assert create(client, "webhook", name="ops").status_code == 201
    again = create(client, "telegram", name="ops")
    assert again.status_code == 409
    assert again.json["error"]["details"][0]["field"] == "name"


def test_patch_keeps_an_omitted_secret_and_replaces_a_given_one(client, logs):
    created = create(client, "webhook").json["data"]
    path = f"{API}/channels/{created['id']}"

    moved = client.simulate_patch(path, json={"config": {"url": "https://new.example.com/h"}})
    assert moved.status_code == 200, moved.text
    assert moved.json["data"]["config"] == {"url": "https://new.example.com/h", "secret_set": True}
    from control.notifications.services import channel_settings

    row = NotificationChannel.get_by_id(created["id"])
    assert channel_settings(row)["secret"] == WEBHOOK_SECRET

    rotated = client.simulate_patch(path, json={"config": {"secret": NEW_SECRET}})
    assert rotated.status_code == 200
    row = NotificationChannel.get_by_id(created["id"])
    assert channel_settings(row) == {"url": "https://new.example.com/h", "secret": NEW_SECRET}
    assert_no_secret(moved.text + rotated.text)
    assert_no_secret(logs.text)
    assert_no_secret("\n".join(orjson.dumps(r.summary).decode() for r in AuditLog.select()))


def test_patch_can_drop_an_optional_secret_and_change_rules(client):
    created = create(client, "email").json["data"]
    path = f"{API}/channels/{created['id']}"
    result = client.simulate_patch(
        path,
        json={
            "config": {"password": None, "username": None, "security": "starttls", "port": 587},
            "events": ["runtime.failed"],
            "min_severity": "critical",
            "enabled": False,
            "dedup_window_seconds": 0,
            "name": "mail",
        },
    )
    assert result.status_code == 200, result.text
    data = result.json["data"]
    assert data["config"]["password_set"] is False
    assert "username" not in data["config"]
    assert (data["config"]["security"], data["config"]["port"]) == ("starttls", 587)
    assert data["events"] == ["runtime.failed"]
    assert (data["min_severity"], data["enabled"], data["dedup_window_seconds"]) == (
        "critical",
        False,
        0,
    )
    assert data["name"] == "mail"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"config": {"url": "gopher://x/"}}, "config.url"),
        ({"type": "telegram"}, "type"),
        ({"enabled": None}, "enabled"),
        ({}, "body"),
    ],
)
def test_patch_is_checked(client, body, field):
    created = create(client, "webhook").json["data"]
    result = client.simulate_patch(f"{API}/channels/{created['id']}", json=body)
    assert result.status_code == 422, result.text
    assert field in [d["field"] for d in result.json["error"]["details"]]


def test_delete_then_404_and_the_history_stays(client):
    created = create(client, "webhook").json["data"]
    path = f"{API}/channels/{created['id']}"
    assert client.simulate_post(f"{API}/test/{created['id']}").status_code == 202
    assert client.simulate_delete(path).status_code == 204
    assert client.simulate_delete(path).status_code == 404
    assert client.simulate_get(path).status_code == 404
    assert client.simulate_patch(path, json={"enabled": False}).status_code == 404
    [item] = client.simulate_get(f"{API}/history").json["data"]
    assert (item["channel_id"], item["channel"]) == (None, "webhook-channel")


@pytest.mark.parametrize("channel_id", ["999999", "abc", "0", "99999999999999999999"])
def test_unknown_channel_ids_are_404(client, channel_id):
    assert client.simulate_get(f"{API}/channels/{channel_id}").status_code == 404
    assert client.simulate_post(f"{API}/test/{channel_id}").status_code == 404


# -- test sends and history ----------------------------------------------------------------


def test_test_send_answers_202_with_a_queued_delivery_and_enqueues_it(client):
    created = create(client, "webhook", enabled=False).json["data"]
    result = client.simulate_post(f"{API}/test/{created['id']}")
    assert result.status_code == 202, result.text
    data = result.json["data"]
    assert data["status"] == "queued"
    assert (data["event"], data["severity"], data["attempts"]) == ("test", "info", 0)
    assert data["channel_id"] == created["id"]
    assert NotificationDelivery.get_by_id(data["id"]).status is DeliveryStatus.QUEUED
    [message] = queued_messages()
    assert (message.actor_name, message.args) == ("send_notification", (data["id"],))
    assert AuditLog.get(AuditLog.action == "notifications.test").status == 202


def test_a_broker_outage_still_accepts_the_test_send(client, tasks, monkeypatch):
    def down(*args: Any, **options: Any) -> None:
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(tasks, "send", down)
    created = create(client, "webhook").json["data"]
    result = client.simulate_post(f"{API}/test/{created['id']}")
    assert result.status_code == 202
    assert NotificationDelivery.get_by_id(result.json["data"]["id"]).status is DeliveryStatus.QUEUED
    assert queued_messages() == []  # the sweep will send it


def route(event_type: str = "app.fatal", severity: Severity = Severity.CRITICAL, key: str = "a1"):
    return routing.route_event(
        routing.NotificationEvent(
            type=event_type, severity=severity, title=f"{event_type} on {key}", dedup_key=key
        )
    )


def test_history_is_newest_first_with_filters_and_cursor_pages(client, client_as):
    hook = create(client, "webhook", name="hook").json["data"]
    tele = create(client, "telegram", name="tele").json["data"]
    route("app.fatal", key="a1")  # both channels
    route("runtime.failed", Severity.ERROR, key="a2")  # both
    NotificationDelivery.update(status=DeliveryStatus.FAILED, last_error="webhook: HTTP 500").where(
        NotificationDelivery.id
        == NotificationDelivery.select().order_by(NotificationDelivery.id).first().id
    ).execute()

    everything = client.simulate_get(f"{API}/history").json
    ids = [item["id"] for item in everything["data"]]
    assert ids == sorted(ids, reverse=True)
    assert len(ids) == 4
    assert everything["meta"] == {"limit": 50, "next_cursor": None}

    def only(**params):
        answer = client.simulate_get(f"{API}/history", params=params)
        assert answer.status_code == 200, answer.text
        return answer.json["data"]

    assert {i["channel"] for i in only(channel_id=hook["id"])} == {"hook"}
    assert {i["event"] for i in only(event="runtime.failed")} == {"runtime.failed"}
    [failed] = only(status="failed")
    assert failed["last_error"] == "webhook: HTTP 500"
    assert only(channel_id=tele["id"], event="app.fatal")[0]["channel"] == "tele"

    first = client.simulate_get(f"{API}/history", params={"limit": 3}).json
    assert len(first["data"]) == 3
    assert first["meta"]["next_cursor"]
    rest = client.simulate_get(
        f"{API}/history", params={"limit": 3, "cursor": first["meta"]["next_cursor"]}
    ).json
    assert [i["id"] for i in first["data"] + rest["data"]] == ids

    bad = client.simulate_get(f"{API}/history", params={"status": "lost"})
    assert bad.status_code == 422
    assert client.simulate_get(f"{API}/history", params={"cursor": "forged"}).status_code == 400
    # operators and viewers read the history, like the logs
    assert client_as(Role.VIEWER).simulate_get(f"{API}/history").status_code == 200


def test_dedup_window_skips_a_repeat_and_min_severity_filters(client):
    create(client, "webhook", name="all", min_severity="info")
    create(client, "telegram", name="critical-only", min_severity="critical")
    create(client, "email", name="no-dedup", dedup_window_seconds=0, events=["runtime.failed"])
    assert {d.channel_name for d in route("runtime.failed", Severity.ERROR, "x")} == {
        "all",
        "no-dedup",
    }
    # the same key inside the window: only the channel without a window sends again
    assert [d.channel_name for d in route("runtime.failed", Severity.ERROR, "x")] == ["no-dedup"]
    # another key is another incident
    assert {d.channel_name for d in route("runtime.failed", Severity.ERROR, "y")} == {
        "all",
        "no-dedup",
    }
    assert {d.channel_name for d in route("app.fatal", Severity.CRITICAL, "z")} == {
        "all",
        "critical-only",
    }
    assert route("app.fatal", Severity.INFO, "w")[0].channel_name == "all"


def test_a_disabled_channel_gets_no_routed_events(client):
    created = create(client, "webhook").json["data"]
    client.simulate_patch(f"{API}/channels/{created['id']}", json={"enabled": False})
    assert route() == []


def test_the_sweep_re_enqueues_stale_deliveries(client, tasks):
    import datetime as dt

    from control.clock import utcnow

    create(client, "webhook")
    [delivery] = route()
    assert notification_actors.requeue_stale_deliveries(tasks) == 0
    NotificationDelivery.update(updated=utcnow() - dt.timedelta(minutes=11)).execute()
    assert notification_actors.requeue_stale_deliveries(tasks) == 1
    assert [m.args for m in queued_messages()] == [(delivery.id,)]


# -- dead jobs -----------------------------------------------------------------------------


def dead(delivery_id: int = 7) -> int:
    message = dramatiq.get_broker().get_actor("send_notification").message(delivery_id)
    return jobs.record(
        queue=message.queue_name,
        actor=message.actor_name,
        message_id=message.message_id,
        args=[delivery_id],
        kwargs={"password": "hunter2-secret"},
        encoded=message.encode().decode(),
        error="DeliveryFailed: webhook: HTTP 500",
    ).id


def test_dead_jobs_are_listed_and_requeued_once(client):
    job_id = dead()
    listed = client.simulate_get("/api/v1/jobs/dead")
    assert listed.status_code == 200
    [item] = listed.json["data"]
    assert item["id"] == job_id
    assert (item["queue"], item["actor"]) == ("notifications", "send_notification")
    assert item["args"] == {"args": [7], "kwargs": {"password": "[redacted]"}}
    assert item["error"] == "DeliveryFailed: webhook: HTTP 500"
    assert item["requeued_at"] is None
    assert "message" not in item
    assert listed.json["meta"]["total"] == 1

    requeued = client.simulate_post(f"/api/v1/jobs/dead/{job_id}/requeue")
    assert requeued.status_code == 202, requeued.text
    assert requeued.json["data"]["requeued_at"] is not None
    [message] = queued_messages()
    assert (message.actor_name, message.args) == ("send_notification", (7,))
    assert "retries" not in message.options

    again = client.simulate_post(f"/api/v1/jobs/dead/{job_id}/requeue")
    assert again.status_code == 409
    assert client.simulate_post("/api/v1/jobs/dead/424242/requeue").status_code == 404
    pending = client.simulate_get("/api/v1/jobs/dead", params={"requeued": "false"})
    assert pending.json["data"] == []


@pytest.mark.parametrize("role", [Role.VIEWER, Role.OPERATOR, Role.SERVICE])
def test_only_admins_configure_channels_and_see_dead_jobs(client, client_as, role):
    created = create(client, "webhook").json["data"]
    job_id = dead()
    caller = client_as(role)
    assert create(caller, "webhook", name="mine").status_code == 403
    assert caller.simulate_get(f"{API}/channels").status_code == 403
    assert caller.simulate_get(f"{API}/channels/{created['id']}").status_code == 403
    patch = caller.simulate_patch(f"{API}/channels/{created['id']}", json={"enabled": False})
    assert patch.status_code == 403
    assert caller.simulate_delete(f"{API}/channels/{created['id']}").status_code == 403
    assert caller.simulate_post(f"{API}/test/{created['id']}").status_code == 403
    assert caller.simulate_get("/api/v1/jobs/dead").status_code == 403
    assert caller.simulate_post(f"/api/v1/jobs/dead/{job_id}/requeue").status_code == 403
    assert caller.simulate_get(f"{API}/history").status_code == 200


def test_anonymous_callers_get_401(anonymous):
    for method, path in [
        ("GET", f"{API}/channels"),
        ("POST", f"{API}/channels"),
        ("GET", f"{API}/history"),
        ("POST", f"{API}/test/1"),
        ("GET", "/api/v1/jobs/dead"),
        ("POST", "/api/v1/jobs/dead/1/requeue"),
    ]:
        result = anonymous.simulate_request(method, path, json={} if method == "POST" else None)
        assert result.status_code == 401, (method, path)
