"""Notifications end to end, against real local servers the tests start on 127.0.0.1.

An SMTP server (aiosmtpd: plain, STARTTLS and implicit TLS), a webhook receiver that
checks the HMAC signature and the timestamp's freshness, and a fake Telegram Bot API.
The send actor runs on the in-process broker with a real ``dramatiq.Worker`` and tiny
backoffs; one test runs it on the real RabbitMQ.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from email import message_from_bytes
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import dramatiq
import pytest
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from control.clock import utcnow
from control.enums import PipelineStatus
from control.events import Event, EventType
from control.events.memory import MemoryBus
from control.events.publish import install, uninstall
from control.jobs.models import DeadJob
from control.jobs.requeue import requeue
from control.notifications import routing, rules
from control.notifications import services as channels
from control.notifications.models import DeliveryStatus, NotificationDelivery, Severity
from control.notifications.router import NotificationRouter
from control.notifications.senders import email as email_sender
from control.notifications.senders import webhook as webhook_sender
from control.pipelines.models import PipelineTask
from control.settings import get_settings, load_settings
from control.tasks.dramatiq import DramatiqTaskQueue
from tests.waiting import wait_until
from workers.broker import build_broker
from workers.notifications import (
    MAX_RETRIES,
    QUEUE,
    deliver,
    requeue_stale_deliveries,
    send_options,
)


def send_notification() -> dramatiq.Actor:
    """The actor as ``workers.broker.setup`` declared it (``stub_broker``)."""
    return dramatiq.get_broker().get_actor("send_notification")


RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
BOT_TOKEN = "123456:ABCdefGhIJKlmNoPQRstuVWxyz-secret"
WEBHOOK_SECRET = "whsec-0123456789abcdef-secret"
SMTP_PASSWORD = "smtp-p4ssw0rd-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- local HTTP servers ------------------------------------------------------------------


class Receiver:
    """A tiny threaded HTTP server: records each POST, answers ``statuses`` in turn."""

    def __init__(self, statuses: list[int] | None = None, secret: str = WEBHOOK_SECRET):
        self.statuses = list(statuses or [200])
        self.secret = secret
        self.requests: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.requests.append(
                    {
                        "path": self.path,
                        "headers": dict(self.headers),
                        "body": body,
                        "verified": webhook_sender.verify(
                            receiver.secret,
                            self.headers.get(webhook_sender.TIMESTAMP_HEADER, ""),
                            body,
                            self.headers.get(webhook_sender.SIGNATURE_HEADER, ""),
                        ),
                    }
                )
                status = receiver.answer()
                payload = receiver.reply(status)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answer(self) -> int:
        return self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]

    def reply(self, status: int) -> bytes:
        return b'{"received": true}'

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class FakeTelegram(Receiver):
    """The Bot API's ``sendMessage``: ``{"ok": true}`` on 200, its error shape otherwise."""

    def reply(self, status: int) -> bytes:
        if status == 200:
            return b'{"ok": true, "result": {"message_id": 1}}'
        return json.dumps(
            {"ok": False, "error_code": status, "description": "Bad Request"}
        ).encode()


# -- the SMTP server -----------------------------------------------------------------------


class Inbox:
    """aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted"


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def smtp_server(inbox: Inbox, **kwargs: Any) -> Controller:
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), **kwargs)
    controller.start()
    return controller


# -- the worker ----------------------------------------------------------------------------


@pytest.fixture
def bus() -> Iterator[MemoryBus]:
    """An in-process bus installed for ``publish``: tests read ``notification.sent``."""
    memory = MemoryBus()
    install(memory)
    yield memory
    uninstall(memory)
    memory.close()


@pytest.fixture
def worker(db, bus, monkeypatch, stub_broker) -> Iterator[dramatiq.Worker]:
    """A real Worker on the in-process broker set up, with millisecond backoffs."""
    stub = stub_broker
    assert stub is dramatiq.get_broker()
    stub.flush_all()
    monkeypatch.setitem(send_notification().options, "min_backoff", 5)
    monkeypatch.setitem(send_notification().options, "max_backoff", 20)
    running = dramatiq.Worker(stub, worker_timeout=20, worker_threads=2)
    running.start()
    yield running
    running.stop()
    stub.flush_all()


def run_all(running: dramatiq.Worker) -> None:
    """Wait until every message, retries included, has been handled."""
    running.broker.join(QUEUE, fail_fast=False, timeout=30_000)
    running.join()


@pytest.fixture
def telegram_base(monkeypatch) -> Iterator[Callable[[str], None]]:
    """Points DC_TELEGRAM_API_BASE at a local server (settings are read once, so reload)."""

    def point(url: str) -> None:
        monkeypatch.setenv("DC_TELEGRAM_API_BASE", url)
        get_settings.cache_clear()

    yield point
    get_settings.cache_clear()


def channel(kind: str, config: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return channels.create_channel(
        name=fields.pop("name", f"{kind}-{uuid.uuid4().hex[:6]}"),
        type=kind,
        config=config,
        **fields,
    )


def fatal(app: str = "scraper_registry") -> routing.NotificationEvent:
    return routing.NotificationEvent(
        type="app.fatal",
        severity=Severity.CRITICAL,
        title=f"{app} is fatal",
        body="Login page changed; 3 consecutive failures.",
        dedup_key=f"app.fatal:{app}",
        data={"app": app},
    )


def sent_events(bus: MemoryBus) -> list[Event]:
    received: list[Event] = []
    bus.subscribe(received.append)
    return received


def row(delivery_id: int) -> NotificationDelivery:
    return NotificationDelivery.get_by_id(delivery_id)


# -- webhook -------------------------------------------------------------------------------


def test_webhook_is_signed_and_recorded_as_sent(worker, bus):
    events = sent_events(bus)
    with Receiver([200]) as receiver:
        made = channel("webhook", {"url": f"{receiver.url}/hook", "secret": WEBHOOK_SECRET})
        ids = routing.notify(fatal(), send_notification().send)
        assert len(ids) == 1
        run_all(worker)

    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    assert request["path"] == "/hook"
    assert request["verified"] is True
    timestamp = int(request["headers"][webhook_sender.TIMESTAMP_HEADER])
    assert abs(time.time() - timestamp) < 60
    body = json.loads(request["body"])
    assert body["event"] == "app.fatal"
    assert body["severity"] == "critical"
    assert body["id"] == ids[0]
    assert body["data"] == {"app": "scraper_registry"}
    assert request["headers"]["X-DC-Event"] == "app.fatal"

    delivery = row(ids[0])
    assert delivery.status is DeliveryStatus.SENT
    assert delivery.attempts == 1
    assert delivery.last_error is None
    assert delivery.latency_ms is not None
    assert delivery.latency_ms >= 0
    assert delivery.sent_at is not None
    assert delivery.channel_id == made["id"]
    assert wait_until(lambda: any(e.type is EventType.NOTIFICATION_SENT for e in events), 5)
    sent = next(e for e in events if e.type is EventType.NOTIFICATION_SENT)
    assert sent.data["status"] == "sent"
    assert sent.data["rule"] == "app.fatal"


def test_a_wrong_secret_or_a_stale_timestamp_does_not_verify():
    body = b'{"a": 1}'
    now = int(time.time())
    signature = webhook_sender.sign(WEBHOOK_SECRET, str(now), body)
    assert webhook_sender.verify(WEBHOOK_SECRET, str(now), body, signature)
    assert not webhook_sender.verify("another-secret-0123456789", str(now), body, signature)
    assert not webhook_sender.verify(WEBHOOK_SECRET, str(now), b'{"a": 2}', signature)
    old = str(now - 3600)
    assert not webhook_sender.verify(
        WEBHOOK_SECRET, old, body, webhook_sender.sign(WEBHOOK_SECRET, old, body)
    )
    assert not webhook_sender.verify(WEBHOOK_SECRET, "soon", body, signature)


def test_a_failing_receiver_is_retried_then_failed_and_dead_lettered(worker, bus):
    events = sent_events(bus)
    with Receiver([500]) as receiver:
        channel("webhook", {"url": receiver.url, "secret": WEBHOOK_SECRET})
        [delivery_id] = routing.notify(fatal(), send_notification().send)
        run_all(worker)

    assert len(receiver.requests) == MAX_RETRIES + 1
    assert all(r["verified"] for r in receiver.requests)
    delivery = row(delivery_id)
    assert delivery.status is DeliveryStatus.FAILED
    assert delivery.attempts == MAX_RETRIES + 1
    assert delivery.last_error == "webhook: HTTP 500"
    assert delivery.sent_at is None
    # the message itself is a dead job, which an admin can send again
    [dead] = list(DeadJob.select())
    assert dead.actor == "send_notification"
    assert dead.queue == QUEUE
    assert dead.args == {"args": [delivery_id], "kwargs": {}}
    assert "webhook: HTTP 500" in dead.error
    assert wait_until(lambda: any(e.data.get("status") == "failed" for e in events), 5)


def test_a_client_error_fails_at_once_without_retries(worker):
    with Receiver([400]) as receiver:
        channel("webhook", {"url": receiver.url, "secret": WEBHOOK_SECRET})
        [delivery_id] = routing.notify(fatal(), send_notification().send)
        run_all(worker)

    assert len(receiver.requests) == 1
    delivery = row(delivery_id)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 1)
    assert delivery.last_error == "webhook: HTTP 400"


def test_a_passing_outage_is_retried_until_sent(worker):
    with Receiver([503, 429, 200]) as receiver:
        channel("webhook", {"url": receiver.url, "secret": WEBHOOK_SECRET})
        [delivery_id] = routing.notify(fatal(), send_notification().send)
        run_all(worker)

    assert len(receiver.requests) == 3
    delivery = row(delivery_id)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SENT, 3)
    assert delivery.last_error == "webhook: HTTP 429"  # what went wrong on the way
    assert DeadJob.select().count() == 0


def test_an_unreachable_receiver_is_retried(worker, monkeypatch):
    monkeypatch.setitem(send_notification().options, "max_retries", 1)
    channel("webhook", {"url": f"http://127.0.0.1:{free_port()}/", "secret": WEBHOOK_SECRET})
    [delivery_id] = routing.notify(fatal(), send_notification().send)
    run_all(worker)
    delivery = row(delivery_id)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 2)
    assert delivery.last_error == "webhook: ConnectError"


def test_a_dead_job_requeued_runs_again(worker):
    with Receiver([500, 500, 200]) as receiver:
        channel("webhook", {"url": receiver.url, "secret": WEBHOOK_SECRET})
        delivery_id = routing.route_event(fatal())[0].id
        send_notification().send_with_options(args=(delivery_id,), max_retries=1)
        run_all(worker)
        assert row(delivery_id).status is DeliveryStatus.FAILED
        [dead] = list(DeadJob.select())
        requeue(dead.id, DramatiqTaskQueue(worker.broker))
        run_all(worker)

    delivery = row(delivery_id)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SENT, 3)
    assert DeadJob.get_by_id(dead.id).requeued_at is not None


# -- telegram ------------------------------------------------------------------------------


def test_telegram_gets_send_message_with_chat_id_and_text(worker, telegram_base, caplog):
    caplog.set_level("DEBUG")
    with FakeTelegram([200]) as telegram:
        telegram_base(telegram.url)
        channel("telegram", {"bot_token": BOT_TOKEN, "chat_id": -1001234567890})
        [delivery_id] = routing.notify(fatal(), send_notification().send)
        run_all(worker)

    [request] = telegram.requests
    assert request["path"] == f"/bot{BOT_TOKEN}/sendMessage"
    body = json.loads(request["body"])
    assert body["chat_id"] == "-1001234567890"
    assert body["text"].startswith("[CRITICAL] scraper_registry is fatal")
    assert "Login page changed" in body["text"]
    assert row(delivery_id).status is DeliveryStatus.SENT
    assert BOT_TOKEN not in caplog.text  # httpx logs the URL: the token is masked


def test_telegram_refusal_is_permanent_and_keeps_the_token_out(worker, telegram_base, caplog):
    caplog.set_level("DEBUG")
    with FakeTelegram([401]) as telegram:
        telegram_base(telegram.url)
        channel("telegram", {"bot_token": BOT_TOKEN, "chat_id": "@fleet_alerts"})
        [delivery_id] = routing.notify(fatal(), send_notification().send)
        run_all(worker)

    assert len(telegram.requests) == 1
    delivery = row(delivery_id)
    assert delivery.status is DeliveryStatus.FAILED
    assert delivery.last_error == "telegram: HTTP 401 Bad Request"
    assert BOT_TOKEN not in caplog.text
    assert all(BOT_TOKEN not in (d.error or "") for d in DeadJob.select())


# -- email ---------------------------------------------------------------------------------


def email_config(port: int, security: str = "none", **extra: Any) -> dict[str, Any]:
    return {
        "host": "127.0.0.1",
        "port": port,
        "from": "alerts@collector.example",
        "to": ["oncall@example.com", "lead@example.com"],
        "security": security,
        **extra,
    }


def received(inbox: Inbox) -> Any:
    [envelope] = inbox.envelopes
    return envelope, message_from_bytes(envelope.content, policy=default_policy)


def test_email_over_plain_smtp(worker):
    inbox = Inbox()
    server = smtp_server(inbox)
    try:
        channel("email", email_config(server.port))
        [delivery_id] = routing.notify(fatal(), send_notification().send)
        run_all(worker)
    finally:
        server.stop()

    envelope, mail = received(inbox)
    assert envelope.mail_from == "alerts@collector.example"
    assert envelope.rcpt_tos == ["oncall@example.com", "lead@example.com"]
    assert mail["To"] == "oncall@example.com, lead@example.com"
    assert mail["Subject"] == "[CRITICAL] scraper_registry is fatal"
    assert "Login page changed" in mail.get_content()
    assert row(delivery_id).status is DeliveryStatus.SENT


@pytest.fixture
def tls(tmp_path, monkeypatch) -> tuple[ssl.SSLContext, Path]:
    """A server context for a self-signed 127.0.0.1 certificate the sender trusts."""
    cert, key = self_signed(tmp_path)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    monkeypatch.setattr(
        email_sender, "tls_context", lambda: ssl.create_default_context(cafile=str(cert))
    )
    return server_context, cert


class Passwords:
    """aiosmtpd authenticator: accepts one user and password."""

    def __init__(self) -> None:
        self.logins: list[str] = []

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str, auth: Any) -> Any:
        from aiosmtpd.smtp import AuthResult

        ok = auth.login == b"collector" and auth.password == SMTP_PASSWORD.encode()
        if ok:
            self.logins.append(auth.login.decode())
        return AuthResult(success=ok, handled=False)  # the server answers 235 or 535


def test_email_with_starttls_and_login(worker, tls, caplog):
    caplog.set_level("DEBUG")
    server_context, _ = tls
    inbox, passwords = Inbox(), Passwords()
    server = smtp_server(
        inbox, tls_context=server_context, require_starttls=True, authenticator=passwords
    )
    try:
        channel(
            "email",
            email_config(server.port, "starttls", username="collector", password=SMTP_PASSWORD),
        )
        [delivery_id] = routing.notify(fatal(), send_notification().send)
        run_all(worker)
    finally:
        server.stop()

    assert passwords.logins == ["collector"]
    _, mail = received(inbox)
    assert mail["Subject"] == "[CRITICAL] scraper_registry is fatal"
    assert row(delivery_id).status is DeliveryStatus.SENT
    assert SMTP_PASSWORD not in caplog.text


def test_email_over_implicit_tls(worker, tls):
    server_context, _ = tls
    inbox = Inbox()
    server = smtp_server(inbox, ssl_context=server_context)
    try:
        channel("email", email_config(server.port, "ssl"))
        [delivery_id] = routing.notify(fatal(), send_notification().send)
        run_all(worker)
    finally:
        server.stop()
    received(inbox)
    assert row(delivery_id).status is DeliveryStatus.SENT


def test_starttls_missing_on_the_server_fails_without_sending(worker):
    inbox = Inbox()
    server = smtp_server(inbox)
    try:
        channel("email", email_config(server.port, "starttls"))
        [delivery_id] = routing.notify(fatal(), send_notification().send)
        run_all(worker)
    finally:
        server.stop()
    assert inbox.envelopes == []
    delivery = row(delivery_id)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 1)
    assert delivery.last_error == "email: the server does not offer STARTTLS"


def test_a_wrong_smtp_password_is_permanent_and_never_shown(worker, tls, caplog):
    caplog.set_level("DEBUG")
    server_context, _ = tls
    server = smtp_server(
        Inbox(), tls_context=server_context, require_starttls=True, authenticator=Passwords()
    )
    try:
        channel(
            "email",
            email_config(server.port, "starttls", username="collector", password="wrong-" * 3),
        )
        [delivery_id] = routing.notify(fatal(), send_notification().send)
        run_all(worker)
    finally:
        server.stop()
    delivery = row(delivery_id)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 1)
    assert delivery.last_error.startswith("email: login refused")
    assert "wrong-wrong-" not in caplog.text


# -- rules, dedup and the sweep ------------------------------------------------------------


def test_rules_route_by_event_and_severity_and_deduplicate(db):
    everything = channel("webhook", {"url": "http://127.0.0.1:9/", "secret": WEBHOOK_SECRET})
    errors_only = channel(
        "webhook",
        {"url": "http://127.0.0.1:9/", "secret": WEBHOOK_SECRET},
        min_severity="critical",
        events=["app.fatal"],
    )
    channel(
        "webhook",
        {"url": "http://127.0.0.1:9/", "secret": WEBHOOK_SECRET},
        enabled=False,
    )
    failed_run = rules.from_bus(
        Event.of(
            EventType.RUNTIME_COMPLETED,
            {"app": "etl_prices", "runtime": "r1", "status": "FAILED", "error": "Timeout"},
        ),
        0.25,
    )
    assert failed_run is not None
    assert failed_run.severity is Severity.ERROR
    assert [d.channel_id for d in routing.route_event(failed_run)] == [everything["id"]]
    assert routing.route_event(failed_run) == []  # same app within the window
    assert {d.channel_id for d in routing.route_event(fatal())} == {
        everything["id"],
        errors_only["id"],
    }
    ok_run = Event.of(EventType.RUNTIME_COMPLETED, {"app": "a", "status": "COMPLETED"})
    assert rules.from_bus(ok_run, 0.25) is None


def test_pipeline_error_rate_over_the_threshold(db):
    now = utcnow()
    for n in range(12):
        status = PipelineStatus.FAILED if n < 4 else PipelineStatus.COMPLETED
        PipelineTask.create(
            app="ocr_invoices",
            document_type="invoice",
            document_ref=f"doc-{n}",
            stage="OCR",
            status=status,
            updated=now,
        )
    event = Event.of(EventType.PIPELINE_TASK_UPDATED, {"app": "ocr_invoices", "status": "FAILED"})
    found = rules.from_bus(event, 0.25)
    assert found is not None
    assert found.type == "pipeline.error_rate"
    assert found.data["finished"] == 12
    assert rules.from_bus(event, 0.5) is None


def test_an_enqueue_lost_to_an_outage_is_sent_by_the_sweep(worker):
    def broker_down(delivery_id: int) -> None:
        raise ConnectionError("broker unreachable")

    with Receiver([200]) as receiver:
        channel("webhook", {"url": receiver.url, "secret": WEBHOOK_SECRET})
        [delivery_id] = routing.notify(fatal(), broker_down)
        assert row(delivery_id).status is DeliveryStatus.QUEUED  # accepted, not lost
        NotificationDelivery.update(updated=utcnow() - dt.timedelta(minutes=30)).execute()
        tasks = DramatiqTaskQueue(worker.broker)
        assert requeue_stale_deliveries(tasks) == 1
        assert requeue_stale_deliveries(tasks) == 0  # marked: the next sweep leaves it
        run_all(worker)

    assert len(receiver.requests) == 1
    assert row(delivery_id).status is DeliveryStatus.SENT


def test_the_router_turns_bus_events_into_sends(worker, bus):
    with Receiver([200]) as receiver:
        channel("webhook", {"url": receiver.url, "secret": WEBHOOK_SECRET})
        router = NotificationRouter(bus, DramatiqTaskQueue(worker.broker), 0.25)
        router.start()
        try:
            bus.publish(Event.of(EventType.APP_FATAL, {"app": "scraper_x", "reason": "boom"}))
            assert wait_until(lambda: len(receiver.requests) == 1)
        finally:
            router.stop()
    body = json.loads(receiver.requests[0]["body"])
    assert (body["event"], body["body"]) == ("app.fatal", "boom")


# -- RabbitMQ ------------------------------------------------------------------------------


@pytest.mark.services
def test_a_send_through_rabbitmq(db, bus):
    rabbit = build_broker(load_settings(rabbitmq_url=RABBITMQ_URL, broker="rabbitmq"))
    queue = f"dc_test_notifications_{uuid.uuid4().hex[:10]}"
    options = {**send_options(get_settings()), "queue_name": queue}
    actor = dramatiq.actor(deliver, actor_name="send_notification", broker=rabbit, **options)
    running = dramatiq.Worker(rabbit, worker_timeout=100, worker_threads=1)
    try:
        with Receiver([200]) as receiver:
            channel("webhook", {"url": receiver.url, "secret": WEBHOOK_SECRET})
            [delivery_id] = routing.notify(fatal(), actor.send)
            running.start()
            assert wait_until(lambda: row(delivery_id).status is DeliveryStatus.SENT, 20)
        assert len(receiver.requests) == 1
        assert receiver.requests[0]["verified"]
    finally:
        running.stop()
        channel_ = rabbit.channel
        for name in (queue, f"{queue}.DQ", f"{queue}.XQ"):
            channel_.queue_delete(name)
        rabbit.close()


# -- the embedded default: the web process runs the worker -----------------------------------


def test_the_web_process_sends_a_test_notification_itself(db, bus, stub_broker):
    import falcon.testing

    from control.auth.models import User
    from control.auth.roles import Role
    from control.auth.tokens import new_id
    from control.kv.memory import MemoryStore
    from web.app import create_app
    from web.wiring import build_services
    from workers.embedded import embedded_middleware

    settings = load_settings(
        environment="test", rate_limit_per_minute=100_000, embedded_background=True
    )
    services = build_services(settings, store=MemoryStore(), bus=bus)
    # composed as control/cli/webapp.py composes it, on the stub broker set up
    app = create_app(
        settings,
        bind_database=False,
        services=services,
        tasks=DramatiqTaskQueue(stub_broker),
        embedded=lambda settings, bus: embedded_middleware(settings, stub_broker, bus),
    )
    admin = User.create(email="admin@example.com", password_hash="x", role=Role.ADMIN)
    token = services.tokens.issue(
        subject=admin.email,
        role=Role.ADMIN,
        subject_type="user",
        use="access",
        session_id=new_id(),
    ).token
    headers = {"Authorization": f"Bearer {token}"}
    stub_broker.flush_all()

    async def scenario(url: str) -> dict[str, Any]:
        async with falcon.testing.ASGIConductor(app) as conductor:  # runs the lifespan
            body = {
                "name": "hook",
                "type": "webhook",
                "config": {"url": url, "secret": WEBHOOK_SECRET},
            }
            made = await conductor.simulate_post(
                "/api/v1/notifications/channels", json=body, headers=headers
            )
            assert made.status_code == 201
            sent = await conductor.simulate_post(
                f"/api/v1/notifications/test/{made.json['data']['id']}", headers=headers
            )
            assert sent.status_code == 202
            for _ in range(200):
                history = await conductor.simulate_get(
                    "/api/v1/notifications/history", headers=headers
                )
                [item] = history.json["data"]
                if item["status"] != "queued" and item["status"] != "sending":
                    return item
                await asyncio.sleep(0.05)
            return item

    import asyncio

    with Receiver([200]) as receiver:
        item = asyncio.run(scenario(receiver.url))
    assert item["status"] == "sent"
    assert item["attempts"] == 1
    [request] = receiver.requests
    assert request["verified"]
    assert json.loads(request["body"])["event"] == "test"
