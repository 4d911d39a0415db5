"""A relay in another process is woken by the command's commit (PostgreSQL NOTIFY).

The relay polls every ``--idle-sleep`` seconds; these tests set that to a minute, so a
command published within seconds shows the notification, not the poll, woke it.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time

import pytest
from peewee import Database

from control.commands import services as commands
from control.commands.models import Command, CommandStatus
from control.commands.wakeup import OutboxListener, connect_like
from control.db.database import database
from tests.factories import make_app
from tests.live_server import DCCTL, server_env
from tests.waiting import wait_until

RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"

pytestmark = [pytest.mark.services, pytest.mark.parametrize("db", ["postgresql"], indirect=True)]


def issue_then_roll_back(app_id: str) -> None:
    with database.atomic():
        commands.issue_command(app_id, "START", commands.Actor("t"))
        raise RuntimeError("roll back")


def test_a_commit_wakes_the_listener_and_a_rollback_does_not(db: Database):
    wake = threading.Event()
    listener = OutboxListener(connect_like(db), wake)
    listener.start()
    try:
        assert listener.listening.wait(5)
        assert wait_until(wake.is_set, 2)  # it wakes once on connecting: rows may wait
        wake.clear()

        app = make_app()
        with pytest.raises(RuntimeError):
            issue_then_roll_back(app.id)
        assert Command.select().count() == 0
        assert not wake.wait(0.5)  # nothing committed, nothing to tell

        commands.issue_command(app.id, "START", commands.Actor("t"))
        assert wake.wait(2)
    finally:
        listener.stop()


def test_dcctl_relay_publishes_a_new_command_without_waiting_for_its_poll(
    request, db: Database, tmp_path
):
    env = server_env(request.getfixturevalue("postgresql_url"), DC_RABBITMQ_URL=RABBITMQ_URL)
    log_path = tmp_path / "relay.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [str(DCCTL), "relay", "--idle-sleep", "60"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        started = wait_until(lambda: b"woken by LISTEN" in log_path.read_bytes(), 20)
        assert started, log_path.read_text()
        time.sleep(1.0)  # its first poll has run and the listener is connected
        app = make_app()
        issued = commands.issue_command(app.id, "START", commands.Actor("t"))

        def published() -> bool:
            return Command.get_by_id(issued.id).status is CommandStatus.PUBLISHED

        assert wait_until(published, 5), log_path.read_text()
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(20)  # promptly, though its idle wait is a minute
    assert code == 0, log_path.read_text()
