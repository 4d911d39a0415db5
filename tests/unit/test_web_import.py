"""Importing the API builds no broker and opens no connection.

In a fresh interpreter with no ``DC_*`` variable set, ``import web.app`` must not build
a Dramatiq broker (not even the one ``dramatiq.get_broker()`` would invent), set a
global one, import a worker module or connect a socket: the broker is set up by the
composition root (``control/cli``), never as an import side effect.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

PROBE = """
import socket
import sys

connections = []

def refuse(self, address, *args, **kwargs):
    connections.append(address)
    raise OSError("no connection may be opened at import")

socket.socket.connect = refuse
socket.socket.connect_ex = refuse

import dramatiq
import dramatiq.broker

built = []
original_init = dramatiq.Broker.__init__

def record(self, *args, **kwargs):
    built.append(type(self).__name__)
    original_init(self, *args, **kwargs)

dramatiq.Broker.__init__ = record

import web.app  # noqa: E402

workers = sorted(name for name in sys.modules if name.split(".")[0] == "workers")
print("brokers built:", built)
print("global broker:", dramatiq.broker.global_broker)
print("worker modules:", workers)
print("connections:", connections)
"""


def test_importing_the_api_builds_no_broker_and_opens_no_connection() -> None:
    env = {name: value for name, value in os.environ.items() if not name.startswith("DC_")}
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "brokers built: []",
        "global broker: None",
        "worker modules: []",
        "connections: []",
    ], done.stdout + done.stderr
