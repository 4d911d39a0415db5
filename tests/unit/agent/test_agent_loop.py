"""The agent end to end in one process: commands over the in-process transport, SQLite."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from control import __version__
from control.agent.stale import RESTARTED
from control.agents import services as agents
from control.agents.models import Agent as AgentRow
from control.apps.models import Apps
from control.clock import utcnow
from control.commands.models import Command, CommandStatus
from control.commands.services import Actor, issue_command
from control.enums import CommandFlag, FatalFlag, RunStatus, RuntimeStatus
from control.errors import Conflict
from control.logs.models import Logs
from control.performance.models import FunctionLog
from control.runtimes.models import Runtime
from tests.agent_apps import wait_for
from tests.factories import make_runtime


def _app(app_id: str) -> Apps:
    return Apps.get_by_id(app_id)


def _runtimes(app_id: str) -> list[Runtime]:
    return list(Runtime.select().where(Runtime.app == app_id).order_by(Runtime.started))


def _ended(app_id: str, count: int = 1) -> list[Runtime] | None:
    done = [r for r in _runtimes(app_id) if r.status is not RuntimeStatus.RUNNING]
    return done if len(done) >= count else None


def test_start_runs_the_app_and_acknowledges_the_command(make_agent, app_for, command):
    app = app_for("test.quick", settings={"items": 4})
    agent = make_agent().start()
    command_id = command(app.id, "START")
    (runtime,) = wait_for(lambda: _ended(app.id))
    assert runtime.status is RuntimeStatus.COMPLETED
    assert runtime.trigger == "command"
    assert runtime.host == "test-agent"
    assert (runtime.records_total, runtime.records_solved, runtime.records_failed) == (4, 4, 0)
    row = _app(app.id)
    assert (row.run_status, row.command_flag, row.last_runtime) == (
        RunStatus.IDLE,
        CommandFlag.NONE,
        runtime.id,
    )
    assert (row.progress_current, row.progress_total) == (4, 4)
    issued = Command.get_by_id(command_id)
    assert issued.status is CommandStatus.ACKNOWLEDGED
    assert issued.acknowledged_by == "agent test-agent"

    def run_lines() -> list[str] | None:
        """The run's log lines once its last one ("Run completed …", written just after
        the runtime's end is recorded) is in."""
        agent.batcher.flush()
        lines = Logs.select(Logs.message).where(Logs.runtime == runtime.id)
        found = [m for (m,) in lines.order_by(Logs.timestamp, Logs.id).tuples()]
        return found if found and found[-1].startswith("Run completed in ") else None

    messages = wait_for(run_lines)
    assert messages[0] == f"Starting {app.id} on test-agent (command)"
    assert "quick run over 4 items" in messages
    calls = {
        f.function_name: (f.task_size, f.solved, f.failed)
        for f in FunctionLog.select().where(FunctionLog.runtime == runtime.id)
    }
    assert calls == {"fetch": (4, 4, 0), "parse": (4, 4, 0)}


def test_progress_moves_and_stop_ends_the_run_as_stopped(make_agent, app_for, command):
    app = app_for("test.long", settings={"items": 400, "delay": 0.02})
    make_agent(stop_grace=5.0).start()
    command(app.id, "START")
    first = wait_for(lambda: (_app(app.id).progress_current or 0) > 0 and _app(app.id))
    assert first.progress_total == 400
    assert first.run_status is RunStatus.RUNNING
    wait_for(lambda: _app(app.id).progress_current > first.progress_current)

    began = time.monotonic()
    command(app.id, "STOP")
    (runtime,) = wait_for(lambda: _ended(app.id))
    assert time.monotonic() - began < 5  # cooperative: well within the grace period
    assert runtime.status is RuntimeStatus.STOPPED
    assert runtime.error is None
    assert 0 < runtime.records_solved < 400
    assert _app(app.id).run_status is RunStatus.IDLE
    assert _app(app.id).command_flag is CommandFlag.NONE


def test_an_app_ignoring_stop_is_forced_after_the_grace_period(make_agent, app_for, command):
    app = app_for("test.stubborn", settings={"seconds": 30})
    agent = make_agent(stop_grace=0.5).start()
    command(app.id, "START")
    wait_for(lambda: _app(app.id).run_status is RunStatus.RUNNING)
    # the claim marks the app RUNNING just before the agent lists the run as active
    thread = wait_for(lambda: agent.active().get(app.id)).thread
    began = time.monotonic()
    command(app.id, "STOP")
    (runtime,) = wait_for(lambda: _ended(app.id))
    assert 0.4 < time.monotonic() - began < 5
    assert runtime.status is RuntimeStatus.STOPPED
    wait_for(lambda: agent.active() == {})  # just after the runtime's end is recorded
    thread.join(timeout=5)  # ForcedStop reached the abandoned thread
    assert not thread.is_alive()
    agent.batcher.flush()
    assert Logs.select().where(Logs.message.contains("grace period over")).exists()


def test_failures_turn_the_app_fatal_and_reset_clears_it(make_agent, app_for, command):
    app = app_for("test.failing", schedule="0 3 * * *")
    make_agent(fatal_after=3).start()
    for attempt in range(1, 4):
        command(app.id, "START")
        runs = wait_for(lambda n=attempt: _ended(app.id, n))
        assert runs[-1].status is RuntimeStatus.FAILED
        assert runs[-1].error == "RuntimeError: source is down"
        wait_for(lambda: _app(app.id).command_flag is CommandFlag.NONE)
    row = _app(app.id)
    assert row.fatal_flag is FatalFlag.FATAL
    assert row.consecutive_failures == 3
    assert row.fatal_reason.startswith("3 consecutive failures")
    with pytest.raises(Conflict):
        issue_command(app.id, "START", Actor("operator@example.com"))

    reset_id = command(app.id, "RESET")
    wait_for(lambda: Command.get_by_id(reset_id).status is CommandStatus.ACKNOWLEDGED)
    row = wait_for(lambda: _app(app.id).run_status is RunStatus.IDLE and _app(app.id))
    assert (row.fatal_flag, row.consecutive_failures) == (FatalFlag.NO_FATAL, 0)
    assert row.next_run is not None  # back on its schedule


def test_a_due_app_runs_on_its_schedule(make_agent, app_for):
    app = app_for("test.quick", schedule="*/5 * * * *", next_run=utcnow() - dt.timedelta(seconds=1))
    make_agent().start()
    (runtime,) = wait_for(lambda: _ended(app.id))
    assert runtime.trigger == "schedule"
    assert runtime.status is RuntimeStatus.COMPLETED
    assert utcnow() < _app(app.id).next_run <= utcnow() + dt.timedelta(minutes=5)


def test_the_flag_is_polled_when_no_message_comes(make_agent, app_for):
    app = app_for("test.quick")
    make_agent(poll_seconds=0.1).start()
    Apps.update(command_flag=CommandFlag.START, command_updated=utcnow()).where(
        Apps.id == app.id
    ).execute()  # as an older control plane (or a lost message) would leave it
    (runtime,) = wait_for(lambda: _ended(app.id))
    assert runtime.status is RuntimeStatus.COMPLETED
    assert _app(app.id).command_flag is CommandFlag.NONE


def test_concurrency_limits_batch_runs_but_not_services(make_agent, app_for, command):
    slow = [app_for("test.long", settings={"items": 1000, "delay": 0.01}) for _ in range(2)]
    service = app_for("test.service", is_service=True)
    agent = make_agent(concurrency=1).start()
    for app in (*slow, service):
        command(app.id, "START")
    wait_for(lambda: set(agent.active()) == {slow[0].id, service.id})
    assert wait_for(lambda: _app(slow[1].id).run_status is RunStatus.SCHEDULED)
    command(slow[0].id, "STOP")
    wait_for(lambda: slow[1].id in agent.active())
    assert _runtimes(slow[0].id)[0].status is RuntimeStatus.STOPPED


def test_shutdown_stops_runs_and_resumes_services_next_time(make_agent, app_for, command):
    long_app = app_for("test.long", settings={"items": 1000, "delay": 0.02})
    service = app_for("test.service", is_service=True)
    agent = make_agent().start()
    command(long_app.id, "START")
    command(service.id, "START")
    wait_for(lambda: len(agent.active()) == 2)
    agent.stop()
    for app in (long_app, service):
        (runtime,) = _runtimes(app.id)
        assert runtime.status is RuntimeStatus.STOPPED
        assert _app(app.id).run_status is RunStatus.IDLE
    assert _app(service.id).next_run is not None  # the next start picks it up again
    assert _app(long_app.id).next_run is None

    again = make_agent().start()
    wait_for(lambda: service.id in again.active())


def test_start_closes_what_this_agent_left_running(make_agent, app_for):
    app = app_for("test.quick")
    orphan = make_runtime(
        app,
        started=utcnow() - dt.timedelta(seconds=30),
        status=RuntimeStatus.RUNNING,
        ended=None,
        heartbeat=utcnow(),  # fresh: a heartbeat check alone would wait
        host="test-agent",
    )
    Apps.update(run_status=RunStatus.RUNNING, current_runtime=orphan.id).where(
        Apps.id == app.id
    ).execute()
    make_agent().start()
    closed = Runtime.get_by_id(orphan.id)
    assert (closed.status, closed.error) == (RuntimeStatus.FAILED, RESTARTED)
    assert _app(app.id).run_status is RunStatus.FAILED


def test_apps_it_does_not_host_are_left_alone(make_agent, app_for, command):
    unknown = app_for("nobody.registered.this")
    other_group = app_for("test.quick", group="elsewhere")
    agent = make_agent(poll_seconds=0.1).start()
    command(unknown.id, "START")
    command(other_group.id, "START")
    time.sleep(0.6)
    assert agent.commands.handled == 0
    assert _app(unknown.id).command_flag is CommandFlag.START
    assert _app(other_group.id).command_flag is CommandFlag.START
    assert Runtime.select().count() == 0


def test_a_duplicate_message_is_handled_once(make_agent, app_for):
    app = app_for("test.quick")
    agent = make_agent(poll_seconds=3600).start()
    issued = issue_command(app.id, "START", Actor("operator@example.com"))
    body = f'{{"command_id": "{issued.id}", "command": "START", "app_id": "{app.id}"}}'.encode()
    agent.commands.on_message(issued.id, body)
    agent.commands.on_message(issued.id, body)
    wait_for(lambda: _ended(app.id))
    assert agent.commands.handled == 1
    assert len(_runtimes(app.id)) == 1


def test_recorded_progress_is_published_as_runtime_progress(make_agent, app_for, command):
    from control.events import Event, EventType
    from control.events.memory import MemoryBus
    from control.events.publish import install, uninstall

    bus = MemoryBus()
    heard: list[Event] = []
    bus.subscribe(lambda e: heard.append(e) if e.type is EventType.RUNTIME_PROGRESS else None)
    install(bus)
    try:
        app = app_for("test.long", settings={"items": 400, "delay": 0.02})
        make_agent(stop_grace=5.0).start()
        command(app.id, "START")
        wait_for(lambda: len(heard) >= 2)
        command(app.id, "STOP")
        wait_for(lambda: _ended(app.id))
    finally:
        uninstall(bus)
        bus.close()
    first, second = heard[0], heard[1]
    assert first.data["app"] == app.id
    assert first.data["runtime"] == _runtimes(app.id)[0].id
    assert first.data["total"] == 400
    assert 0 <= first.data["current"] < second.data["current"] <= 400
    # throttled: about one a second per run, not one per agent tick (0.25 s)
    assert (second.timestamp - first.timestamp).total_seconds() >= 0.9


def test_the_agent_beats_its_slots_runs_and_waiting_apps(make_agent, app_for, command):
    slow = [app_for("test.long", settings={"items": 1000, "delay": 0.01}) for _ in range(2)]
    service = app_for("test.service", is_service=True)
    agent = make_agent(concurrency=1).start()
    for app in (*slow, service):
        command(app.id, "START")

    expected = sorted([slow[0].id, service.id])

    def row() -> AgentRow | None:
        found = AgentRow.get_or_none(AgentRow.name == "test-agent")
        if found is None or found.queued != [slow[1].id] or sorted(found.running) != expected:
            return None
        return found

    seen = wait_for(row)
    assert seen.busy == 1  # the service takes no slot
    assert seen.slots == 1
    assert seen.groups == ["agenttest"]
    assert seen.version == __version__
    hosting = agents.hosting(slow[1].id, offline_after=30)
    assert hosting == {"name": "test-agent", "online": True, "waiting_for_slot": True}
    agent.stop(grace=0.5)
    last = AgentRow.get(AgentRow.name == "test-agent")
    assert last.running == []
    assert last.queued == []
