"""An e-mail send has one deadline, whatever step the server is slow in.

A local SMTP server that answers every step, but each only after a pause: no single
step exceeds its own timeout, yet together they would outlast the send actor's time
limit. The send gives up at its deadline instead, as a retryable failure.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from control.clock import utcnow
from control.notifications.interfaces import DeliveryFailed, Message
from control.notifications.senders import email as email_sender

PAUSE = 0.4  # before every answer


def _serve_slowly(conn: socket.socket) -> None:
    with contextlib.suppress(OSError), conn, conn.makefile("rb") as lines:

        def say(text: str) -> None:
            time.sleep(PAUSE)
            conn.sendall(text.encode() + b"\r\n")

        say("220 slow.example ESMTP")
        for line in lines:
            verb = line[:4].upper()
            if verb == b"DATA":
                say("354 go on")
                for body in lines:
                    if body in (b".\r\n", b".\n"):
                        break
                say("250 queued")
            elif verb == b"QUIT":
                say("221 bye")
                return
            else:
                say("250 ok")


@pytest.fixture
def slow_smtp() -> Iterator[int]:
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            threading.Thread(target=_serve_slowly, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(2)
    server.close()


def test_a_server_slow_at_every_step_hits_the_send_deadline(slow_smtp, monkeypatch):
    # scaled down: 1 s per step, 1.5 s for the send; the dialogue needs ~2.8 s
    monkeypatch.setattr(email_sender, "TIMEOUT_SECONDS", 1.0)
    monkeypatch.setattr(email_sender, "SEND_DEADLINE_SECONDS", 1.5)
    config = {
        "host": "127.0.0.1",
        "port": slow_smtp,
        "security": "none",
        "from": "dc@example.com",
        "to": ["ops@example.com"],
    }
    message = Message(
        delivery_id=7,
        event="app.fatal",
        severity="critical",
        title="scraper is fatal",
        body="",
        created=utcnow(),
    )
    started = time.monotonic()
    with pytest.raises(DeliveryFailed) as failed:
        email_sender.send(config, message)
    took = time.monotonic() - started
    assert 1.4 <= took < 2.2
    assert failed.value.retryable
    assert "deadline" in failed.value.message
