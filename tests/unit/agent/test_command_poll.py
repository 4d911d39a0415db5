"""The agent's poll of command flags reads only the apps it hosts one by one."""

from __future__ import annotations

from control.agent.commands import CommandHandler
from control.agent.registry import Registry
from control.apps.models import Apps
from control.enums import CommandFlag
from tests.sql_capture import captured_sql


class Hosting:
    """The agent's side of the handler: hosts what the registry knows, records starts."""

    accepting = True

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.started: list[str] = []

    def hosts(self, app: Apps) -> bool:
        return self.registry.hosts(app)

    def start_app(self, app: Apps, trigger: str) -> None:
        self.started.append(app.id)


def test_flags_of_apps_hosted_elsewhere_cost_no_statement_each(registry, app_for) -> None:
    hosted = app_for("test.quick", command_flag=CommandFlag.START)
    elsewhere = [
        app_for("another.agents.app", id=f"elsewhere_{n}", command_flag=CommandFlag.START)
        for n in range(5)
    ]
    ops = Hosting(registry)
    handler = CommandHandler(ops, "test-agent", ["agenttest"])  # type: ignore[arg-type]

    with captured_sql() as statements:
        assert handler.poll() == 1

    assert ops.started == [hosted.id]
    named = {param for _sql, params in statements for param in params}
    assert not named & {app.id for app in elsewhere}, statements
    # theirs stay flagged, for the agent that hosts them
    flags = {a.id: a.command_flag for a in Apps.select().where(Apps.id.startswith("elsewhere_"))}
    assert set(flags.values()) == {CommandFlag.START}
