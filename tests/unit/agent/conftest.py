"""An agent on the in-process transport over the test database (SQLite, then PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from peewee import Database

from control.agent.agent import Agent
from control.agent.commands import MemorySource, binding_patterns
from control.agent.config import AgentConfig
from control.agent.logwriter import LogBatcher
from control.agent.registry import Registry
from control.apps.models import Apps
from control.commands.memory_transport import MemoryTransport
from control.commands.relay import relay_once
from control.commands.services import Actor, issue_command
from tests import agent_apps
from tests.factories import make_app

OPERATOR = Actor("operator@example.com", "user", "operator")


@pytest.fixture
def registry() -> Registry:
    return Registry(dict(agent_apps.APPS), entry_points=False)


@pytest.fixture
def transport() -> Iterator[MemoryTransport]:
    bus = MemoryTransport()
    yield bus
    bus.close()


@pytest.fixture
def make_agent(
    db: Database, registry: Registry, transport: MemoryTransport
) -> Iterator[Callable[..., Agent]]:
    agents: list[Agent] = []

    def make(**overrides: Any) -> Agent:
        config = AgentConfig(
            **{
                "name": "test-agent",
                "groups": ("agenttest",),
                "concurrency": 4,
                "stop_grace": 1.0,
                "fatal_after": 3,
                "poll_seconds": 0.2,
                "heartbeat_seconds": 0.2,
                "stale_after": 60.0,
                "tick": 0.05,
                **overrides,
            }
        )
        agent = Agent(
            config,
            registry,
            MemorySource(binding_patterns(config.groups), transport),
            batcher=LogBatcher(batch_size=50, interval=0.1),
        )
        agents.append(agent)
        return agent

    yield make
    for agent in agents:
        agent.stop(grace=0.5)


@pytest.fixture
def app_for(db: Database) -> Callable[..., Apps]:
    def make(entrypoint: str, **fields: Any) -> Apps:
        settings = {"entrypoint": entrypoint, **fields.pop("settings", {})}
        fields.setdefault("group", "agenttest")
        fields.setdefault("schedule", None)
        return make_app(settings=settings, **fields)

    return make


@pytest.fixture
def command(transport: MemoryTransport) -> Callable[[str, str], str]:
    """Issue a command as an operator and relay it to the agent at once; its id."""

    def send(app_id: str, verb: str) -> str:
        issued = issue_command(app_id, verb, OPERATOR)
        relay_once(transport)
        return issued.id

    return send
