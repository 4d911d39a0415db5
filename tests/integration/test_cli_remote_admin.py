"""``dcctl notify test`` and ``dcctl jobs requeue`` for real, as a subprocess against a
real ``dcctl serve`` (the embedded default: its in-process Dramatiq worker sends).

A webhook channel points at a receiver on loopback. A test send through ``dcctl notify
test`` arrives there, signed. When the receiver refuses a delivery for good (a 4xx), the
send's message dies and becomes a dead job; ``dcctl jobs requeue`` sends it again, and
this time the receiver takes it and the delivery is recorded as sent.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from control.notifications.senders.webhook import verify
from dcclient import Client, PasswordAuth
from tests.live_server import HOST
from tests.remote_cli import ADMIN, ADMIN_PASSWORD, Deployment, deploy

SECRET = "cli-webhook-secret-0123456789"


@dataclass(frozen=True)
class Received:
    delivery: str
    body: dict[str, Any]
    signed: bool  # the HMAC signature checks out with the channel's secret


class Receiver:
    """A webhook receiver on loopback: answers ``status`` and keeps each POST."""

    def __init__(self) -> None:
        self.status = 204
        self.received: list[Received] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                signed = verify(
                    SECRET,
                    self.headers.get("X-DC-Timestamp", ""),
                    raw,
                    self.headers.get("X-DC-Signature", ""),
                )
                delivery = self.headers.get("X-DC-Delivery", "")
                receiver.received.append(Received(delivery, json.loads(raw), signed))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:  # quiet
                pass

        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        self.url = f"http://{HOST}:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Admin:
    deployment: Deployment
    receiver: Receiver
    api: Client  # the test's own view of the API, for what dcctl has no command for
    channel_id: int
    channel: str


@pytest.fixture(scope="module")
def admin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Admin]:
    receiver = Receiver()
    try:
        for deployment in deploy(tmp_path_factory.mktemp("cli_remote_admin")):
            login = deployment.dcctl(
                "login",
                "--url",
                deployment.server.url,
                "--username",
                ADMIN,
                "--password-stdin",
                stdin=ADMIN_PASSWORD + "\n",
            )
            assert login.returncode == 0, login.stderr
            with Client(deployment.server.url, PasswordAuth(ADMIN, ADMIN_PASSWORD)) as api:
                config = {"url": receiver.url, "secret": SECRET}
                body = {"name": "cli-hook", "type": "webhook", "config": config}
                channel = api.post("/notifications/channels", body)["data"]
                yield Admin(deployment, receiver, api, int(channel["id"]), channel["name"])
    finally:
        receiver.close()


def wait_for(what: str, check: Callable[[], Any], within: float = 30) -> Any:
    deadline = time.monotonic() + within
    while not (found := check()):
        assert time.monotonic() < deadline, f"no {what} within {within}s"
        time.sleep(0.2)
    return found


def delivery(admin: Admin, delivery_id: int) -> dict[str, Any]:
    history = admin.api.get("/notifications/history", channel_id=admin.channel_id, limit=100)
    return next(d for d in history["data"] if d["id"] == delivery_id)


def test_notify_test_by_name_and_by_id_reaches_the_webhook(admin: Admin) -> None:
    admin.receiver.status = 204
    by_name = admin.deployment.json("notify", "test", admin.channel)
    by_id = admin.deployment.dcctl("notify", "test", str(admin.channel_id))
    assert by_id.returncode == 0, by_id.stderr
    assert f"queued through channel {admin.channel_id}" in by_id.stdout

    sent = {str(by_name["id"]), by_id.stdout.split()[2]}  # "test notification <id> queued…"

    def both() -> list[Received] | None:
        got = [r for r in admin.receiver.received if r.delivery in sent]
        return got if len(got) == 2 else None

    arrived = wait_for("both test messages at the receiver", both)
    assert all(r.signed for r in arrived)
    assert {r.body["event"] for r in arrived} == {"test"}
    assert {str(r.body["id"]) for r in arrived} == sent
    wait_for("sent status", lambda: delivery(admin, by_name["id"])["status"] == "sent" or None)


def test_notify_test_of_an_unknown_channel_is_exit_4(admin: Admin) -> None:
    unknown = admin.deployment.dcctl("notify", "test", "no-such-channel")
    assert unknown.returncode == 4, unknown.stderr
    missing = admin.deployment.dcctl("notify", "test", "424242")
    assert missing.returncode == 4, missing.stderr


def test_a_dead_send_is_requeued_and_runs_again(admin: Admin) -> None:
    admin.receiver.status = 410  # gone: retrying cannot help, the message dies
    queued = admin.deployment.json("notify", "test", admin.channel)
    delivery_id = str(queued["id"])

    def dead_job() -> dict[str, Any] | None:
        for job in admin.deployment.json("jobs", "dead", "--not-requeued"):
            if job["actor"] == "send_notification" and job["args"]["args"] == [queued["id"]]:
                return dict(job)
        return None

    job = wait_for("dead job", dead_job)
    assert "HTTP 410" in (job["error"] or "")
    assert delivery(admin, queued["id"])["status"] == "failed"
    assert [r.delivery for r in admin.receiver.received].count(delivery_id) == 1

    listed = admin.deployment.dcctl("jobs", "dead")
    assert listed.returncode == 0, listed.stderr
    assert "send_notification" in listed.stdout

    admin.receiver.status = 204  # the receiver is fixed: the requeued send goes through
    requeued = admin.deployment.dcctl("jobs", "requeue", str(job["id"]))
    assert requeued.returncode == 0, requeued.stderr
    assert f"dead job {job['id']} re-queued" in requeued.stdout

    wait_for(
        "the requeued send at the receiver",
        lambda: [r.delivery for r in admin.receiver.received].count(delivery_id) == 2 or None,
    )
    wait_for("sent status", lambda: delivery(admin, queued["id"])["status"] == "sent" or None)
    again = [j["id"] for j in admin.deployment.json("jobs", "dead", "--requeued")]
    assert job["id"] in again
    assert job["id"] not in [
        j["id"] for j in admin.deployment.json("jobs", "dead", "--not-requeued")
    ]

    twice = admin.deployment.dcctl("jobs", "requeue", str(job["id"]))  # once only: 409
    assert twice.returncode == 1, twice.stderr
    assert "CONFLICT" in twice.stderr or "409" in twice.stderr
    gone = admin.deployment.dcctl("jobs", "requeue", "424242")
    assert gone.returncode == 4, gone.stderr
