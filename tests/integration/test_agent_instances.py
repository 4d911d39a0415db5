"""Two ``dc-agent@<group>`` instances on one host, as the shipped template unit starts them.

Real RabbitMQ and PostgreSQL, every part its own process: ``dcctl serve`` (the API),
``dcctl relay`` and two agents whose command lines are the template's ``ExecStart`` with
``%i`` (the group) and ``%H`` (this host) filled in. The agents' poll of
``command_flag`` is set to an hour, so a command can only arrive as a message: each
app's START must reach the agent of its group, through that agent's own queue, and no
agent may see the other group's commands. (With one name for both instances, as before,
both consumed one queue and about half the commands went to the wrong agent, which
dropped them.)
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from control.apps.models import Apps
from control.auth.roles import Role
from control.auth.users import create_user
from control.db.database import connect_url, database
from tests import agent_apps
from tests.integration.test_agent import (
    EMAIL,
    PASSWORD,
    RABBITMQ_URL,
    REPO,
    Api,
    Process,
    _delete_queue,
    scratch_url,  # noqa: F401 - a fixture, used by name
    wait_until,
)
from tests.live_server import LiveServer, server_env

pytestmark = [pytest.mark.services, pytest.mark.postgres]

TEMPLATE = REPO / "ops" / "systemd" / "dc-agent@.service"
APPS_PER_GROUP = 2


def instance_args(group: str) -> list[str]:
    """The template's ExecStart for instance ``group`` on this host, after ``dcctl``
    (``agent --group <group> --name <host>-<group>``)."""
    line = next(line for line in TEMPLATE.read_text().splitlines() if line.startswith("ExecStart="))
    argv = line.removeprefix("ExecStart=").split()
    assert argv[0].endswith("/dcctl"), argv
    host = socket.gethostname()
    return [arg.replace("%i", group).replace("%H", host) for arg in argv[1:]]


def agent_name(args: list[str]) -> str:
    """``--name``, else what the agent falls back to (DC_AGENT_NAME is unset here)."""
    return args[args.index("--name") + 1] if "--name" in args else socket.gethostname()


@pytest.fixture
def groups() -> list[str]:
    return [f"inst{uuid.uuid4().hex[:6]}{side}" for side in ("a", "b")]


@pytest.fixture
def apps(scratch_url: str, groups: list[str]) -> dict[str, list[str]]:  # noqa: F811
    previous = database.obj
    db = connect_url(scratch_url)
    database.initialize(db)
    try:
        with db.connection_context():
            create_user(EMAIL, PASSWORD, Role.OPERATOR)
            made: dict[str, list[str]] = {}
            for group in groups:
                made[group] = []
                for n in range(APPS_PER_GROUP):
                    app_id = f"{group}_quick{n}"
                    settings = {"entrypoint": "test.quick", "items": 3}
                    Apps.create(id=app_id, group=group, parent="it", app=app_id, settings=settings)
                    made[group].append(app_id)
        return made
    finally:
        db.close()
        database.initialize(previous)


@pytest.fixture
def agents_args(groups: list[str]) -> Iterator[dict[str, list[str]]]:
    args = {group: instance_args(group) for group in groups}
    yield args
    for one in args.values():
        _delete_queue(f"dc.agent.{agent_name(one)}")


def test_two_agent_instances_on_one_host_each_get_only_their_groups_commands(
    scratch_url: str,  # noqa: F811
    apps: dict[str, list[str]],
    agents_args: dict[str, list[str]],
    tmp_path: Path,
) -> None:
    names = {group: agent_name(args) for group, args in agents_args.items()}
    assert len(set(names.values())) == len(names), names  # one queue per instance
    env = server_env(
        scratch_url,
        DC_RABBITMQ_URL=RABBITMQ_URL,
        DC_AGENT_APPS=agent_apps.AGENT_APPS,
        DC_AGENT_POLL_SECONDS="3600",  # messages only
        DC_AGENT_HEARTBEAT_SECONDS="1",
        PYTHONPATH=str(REPO),
    )
    started: list[Process] = []
    api: Api | None = None
    try:
        with LiveServer(
            scratch_url, log_dir=tmp_path, extra_env={"DC_RABBITMQ_URL": RABBITMQ_URL}
        ) as server:
            started.append(Process("relay", ["relay", "--idle-sleep", "0.2"], env, tmp_path))
            agents = {
                group: Process(f"agent-{group}", args, env, tmp_path)
                for group, args in agents_args.items()
            }
            started += agents.values()
            for group, agent in agents.items():
                ready = f"consuming dc.agent.{names[group]}"
                wait_until(
                    lambda agent=agent, ready=ready: ready in agent.output(),
                    30,
                    f"agent {names[group]} consuming",
                    agent,
                )
            api = Api(server.url)
            for group_apps in apps.values():
                for app_id in group_apps:
                    api.command(app_id, "start")
            for group, group_apps in apps.items():
                for app_id in group_apps:
                    (run,) = wait_until(
                        lambda app_id=app_id: [
                            r for r in api.runtimes(app_id) if r["status"] == "COMPLETED"
                        ],
                        30,
                        f"{app_id} run by its group's agent",
                        *started,
                    )
                    assert run["host"] == names[group]
            for group, agent in agents.items():
                output = agent.output()
                assert "consumed by another agent" not in output
                for other, other_apps in apps.items():
                    for app_id in other_apps:
                        seen = f"command START for {app_id}" in output
                        assert seen == (other == group), (agent.name, app_id, output[-3000:])
    finally:
        if api is not None:
            api.close()
        for process in reversed(started):
            process.stop()
