"""The agent: hosts apps, runs them on schedule and on command, and reports everything.

One ``Agent`` per process (``dcctl agent``, or inside ``dcctl serve`` in the embedded
default). Its threads:

* the **loop** (``dc-agent``), every quarter second: queue the apps whose ``next_run`` has
  come, poll ``command_flag`` every ``poll_seconds``, start queued runs while fewer than
  ``concurrency`` batch runs are active, write progress of the runs that moved, heart-beat
  the runtimes every ``heartbeat_seconds``, force-stop runs whose stop grace has run out,
  and close stale runtimes of its groups every ``stale_after`` seconds;
* the **command source** (a RabbitMQ consumer or in-process subscriptions) handing
  messages to the ``CommandHandler``;
* one thread per **run** (``dc-app-<app id>``) calling the app;
* the **log writer** flushing log batches.

Services (``Apps.is_service``) run until stopped and do not take a concurrency slot: the
limit is for batch runs, which come and go.

Apps run as threads of the agent process. Cancellation is cooperative (the cancel
token); a run that ignores a STOP for ``stop_grace`` seconds is closed as STOPPED and
its thread abandoned (``ForcedStop`` is raised in it at its next Python instruction; see
``runner.Run``). On shutdown (SIGTERM) every run is cancelled, given the same grace,
then forced; queued runs are dropped and their apps put back to IDLE.
"""

from __future__ import annotations

import collections
import logging
import socket
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from control.agent import registry as registry_module
from control.agent.commands import CommandHandler, CommandSource, build_source
from control.agent.context import AppContext
from control.agent.logwriter import LogBatcher
from control.agent.registry import Registry
from control.agent.runner import Run, claim_run, error_text, status_changed
from control.agent.scheduler import due_apps
from control.agent.stale import LOST, RESTARTED, close_runtimes, close_stale_runtimes, running
from control.commands.services import next_fire
from control.db.database import connected, write_transaction
from control.db.models import Apps, Runtime, utcnow
from control.enums import FatalFlag, RunStatus, RuntimeStatus
from control.settings import Settings

log = logging.getLogger(__name__)


def default_name() -> str:
    """The host name: one agent per host unless ``--name`` says otherwise."""
    return socket.gethostname() or "agent"


@dataclass(frozen=True)
class AgentConfig:
    """How an agent behaves; ``from_settings`` reads the ``DC_AGENT_*`` settings."""

    name: str
    groups: tuple[str, ...] = ()  # empty: every group
    concurrency: int = 4
    stop_grace: float = 10.0
    fatal_after: int = 3
    poll_seconds: float = 5.0
    heartbeat_seconds: float = 5.0
    stale_after: float = 60.0
    # the only manager of its apps (the embedded agent): at start, every RUNNING runtime
    # of a hosted app is an orphan of an earlier process and is closed
    exclusive: bool = False
    tick: float = 0.25

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        name: str | None = None,
        groups: Sequence[str] | None = None,
        exclusive: bool = False,
    ) -> AgentConfig:
        chosen = groups if groups else settings.agent_groups
        return cls(
            name=name or settings.agent_name or default_name(),
            groups=tuple(dict.fromkeys(g.strip() for g in chosen if g.strip())),
            concurrency=settings.agent_concurrency,
            stop_grace=settings.agent_stop_grace_seconds,
            fatal_after=settings.agent_fatal_after,
            poll_seconds=settings.agent_poll_seconds,
            heartbeat_seconds=settings.agent_heartbeat_seconds,
            stale_after=settings.agent_stale_after_seconds,
            exclusive=exclusive,
        )


@dataclass
class _Queued:
    trigger: str
    is_service: bool
    marked: bool = False  # run_status set to SCHEDULED while it waits for a slot


class Agent:
    """Hosts the registered apps of its groups (see the module docstring)."""

    def __init__(
        self,
        config: AgentConfig,
        registry: Registry,
        source: CommandSource | None = None,
        *,
        rabbitmq_url: str | None = None,
        batcher: LogBatcher | None = None,
    ) -> None:
        self.config = config
        self.registry = registry
        self.source = source or build_source(rabbitmq_url, config.name, config.groups)
        self.batcher = batcher or LogBatcher()
        self.commands = CommandHandler(self, config.name, config.groups)
        self._lock = threading.RLock()
        self._active: dict[str, Run] = {}
        self._queued: collections.OrderedDict[str, _Queued] = collections.OrderedDict()
        self._restart: set[str] = set()
        self._flushed: dict[str, int] = {}
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._unhosted_warned: set[str] = set()

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def accepting(self) -> bool:
        """False once the agent is stopping: commands then wait for the next agent."""
        return self._thread is not None and not self._stopping.is_set()

    # -- what we host ------------------------------------------------------------------

    def hosts(self, app: Apps) -> bool:
        """Whether ``app`` is in our groups and has a registered callable."""
        if self.config.groups and app.group not in self.config.groups:
            return False
        return self.registry.hosts(app)

    def hosted_app_ids(self) -> list[str]:
        """The ids of every app this agent hosts now."""
        query = Apps.select(Apps.id, Apps.group, Apps.app, Apps.settings)
        if self.config.groups:
            query = query.where(Apps.group.in_(list(self.config.groups)))
        with connected():
            return [app.id for app in query if self.registry.hosts(app)]

    def active(self) -> dict[str, Run]:
        """The runs in progress, by app id (a copy)."""
        with self._lock:
            return dict(self._active)

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> Agent:
        """Close what an earlier process left running, then start the threads."""
        if self._thread is not None:
            return self
        self._stopping.clear()
        try:
            self.recover()
        except Exception:
            log.exception("agent %s: recovery at start failed; carrying on", self.name)
        self.batcher.start()
        self.source.start(self.commands.on_message)
        self._thread = threading.Thread(target=self._loop, name="dc-agent", daemon=True)
        self._thread.start()
        log.info(
            "agent %s started: groups %s, concurrency %s, apps registered: %s",
            self.name,
            ", ".join(self.config.groups) or "(all)",
            self.config.concurrency,
            ", ".join(self.registry.names()) or "(none)",
        )
        return self

    def recover(self) -> list[str]:
        """Close runtimes no process is running any more; the ids closed."""
        hosted = self.hosted_app_ids()
        if not hosted:
            return []
        fatal_after = self.config.fatal_after
        closed = close_runtimes(
            running(app_ids=hosted, host=self.name), RESTARTED, fatal_after=fatal_after
        )
        if self.config.exclusive:
            closed += close_runtimes(running(app_ids=hosted), LOST, fatal_after=fatal_after)
        closed += close_stale_runtimes(
            self.config.stale_after, app_ids=hosted, fatal_after=fatal_after
        )
        with connected():  # a queue that died with its process
            Apps.update(run_status=RunStatus.IDLE).where(
                Apps.id.in_(hosted), Apps.run_status == RunStatus.SCHEDULED
            ).execute()
        return closed

    def stop(self, grace: float | None = None) -> None:
        """Stop taking work, cancel every run, wait ``grace`` seconds, force the rest."""
        if self._thread is None:
            return
        grace = self.config.stop_grace if grace is None else grace
        self._stopping.set()
        self._wake.set()
        self.source.stop()
        self._thread.join(timeout=10)
        self._thread = None
        with self._lock:
            queued = [app_id for app_id, q in self._queued.items() if q.marked]
            self._queued.clear()
            self._restart.clear()
            runs = list(self._active.values())
        if queued:
            self._set_status(queued, RunStatus.IDLE, only_from=(RunStatus.SCHEDULED,))
        for run in runs:
            run.resume_service = run.is_service  # the next agent start resumes it
            run.request_stop("agent shutting down", grace)
        self._mark_stopping(runs)
        deadline = time.monotonic() + grace
        for run in runs:
            run.done.wait(max(0.0, deadline - time.monotonic()))
        for run in runs:
            if not run.done.is_set():
                run.force()
        self.batcher.close()
        log.info("agent %s stopped", self.name)

    # -- operations (the command handler calls these) ----------------------------------

    def start_app(self, app: Apps, trigger: str) -> None:
        """Queue a run of ``app`` unless it is running, queued, disabled or fatal."""
        if app.disabled or app.fatal_flag is FatalFlag.FATAL:
            log.info("not starting %s: %s", app.id, "disabled" if app.disabled else "fatal")
            return
        with self._lock:
            if self._stopping.is_set() or app.id in self._active or app.id in self._queued:
                return
            self._queued[app.id] = _Queued(trigger, bool(app.is_service))
        self._wake.set()

    def stop_app(self, app_id: str, reason: str) -> bool:
        """Cancel the app's run (or drop it from the queue); whether there was one."""
        with self._lock:
            queued = self._queued.pop(app_id, None)
            run = self._active.get(app_id)
        if queued is not None and queued.marked:
            self._set_status([app_id], RunStatus.IDLE, only_from=(RunStatus.SCHEDULED,))
        if run is None:
            return queued is not None
        run.request_stop(reason, self.config.stop_grace)
        self._mark_stopping([run])
        self._wake.set()
        return True

    def restart_app(self, app: Apps, reason: str) -> None:
        """Stop the current run and start again once it has ended (or now, if none)."""
        with self._lock:
            running_now = app.id in self._active
            if running_now:
                self._restart.add(app.id)
        if running_now:
            self.stop_app(app.id, reason)
        else:
            self.start_app(app, "command")

    def reset_app(self, app: Apps) -> None:
        """After RESET (the API cleared the fatal flag): back to IDLE and the schedule."""
        now = utcnow()
        values: dict[Any, Any] = {Apps.updated: now}
        if app.run_status is RunStatus.FAILED:
            values[Apps.run_status] = RunStatus.IDLE
        if app.is_service:
            values[Apps.next_run] = now
        elif app.schedule:
            values[Apps.next_run] = next_fire(app.schedule, app.timezone, now)
        with connected():
            Apps.update(values).where(Apps.id == app.id).execute()
        if Apps.run_status in values:
            status_changed(app.id, app.run_status, RunStatus.IDLE)

    # -- the loop ----------------------------------------------------------------------

    def _loop(self) -> None:
        next_due = next_poll = next_beat = 0.0
        next_stale = time.monotonic() + self.config.stale_after
        failures = 0
        while not self._stopping.is_set():
            now = time.monotonic()
            failed = False
            for due, step in (
                (now >= next_due, self._queue_due),
                (now >= next_poll, self.commands.poll),
                (True, self._dispatch),
                (True, self._flush_progress),
                (now >= next_beat, self._heartbeat),
                (True, self._force_overdue),
                (now >= next_stale, self._close_stale),
            ):
                if due and not self._stopping.is_set():
                    try:
                        step()
                    except Exception:
                        failed = True
                        if failures < 3:  # then quiet until it works again
                            log.exception("agent %s: %s failed", self.name, step.__name__)
            if now >= next_due:
                next_due = now + 1.0
            if now >= next_poll:
                next_poll = now + self.config.poll_seconds
            if now >= next_beat:
                next_beat = now + self.config.heartbeat_seconds
            if now >= next_stale:
                next_stale = now + self.config.stale_after
            failures = failures + 1 if failed else 0
            # the database (most likely) is failing: back off, 1 s up to 30 s
            pause = min(30.0, 2.0 ** (failures - 1)) if failures else self.config.tick
            self._wake.wait(pause)
            self._wake.clear()

    def _queue_due(self) -> None:
        for app in due_apps(self.config.groups):
            if self.hosts(app):
                self.start_app(app, "schedule")
            elif app.id not in self._unhosted_warned:
                self._unhosted_warned.add(app.id)
                log.debug("app %s is due but not hosted here", app.id)

    def _batch_runs(self) -> int:
        return sum(1 for run in self._active.values() if not run.is_service)

    def _dispatch(self) -> None:
        while not self._stopping.is_set():
            with self._lock:
                pick = None
                waiting: list[str] = []
                free = self._batch_runs() < self.config.concurrency
                for app_id, queued in self._queued.items():
                    if queued.is_service or free:
                        pick = (app_id, queued)
                        break
                    if not queued.marked:
                        queued.marked = True
                        waiting.append(app_id)
                if pick is not None:
                    del self._queued[pick[0]]
            if waiting:
                self._set_status(
                    waiting, RunStatus.SCHEDULED, only_from=(RunStatus.IDLE, RunStatus.FAILED)
                )
            if pick is None:
                return
            self._launch(pick[0], pick[1].trigger)

    def _launch(self, app_id: str, trigger: str) -> None:
        claim = claim_run(app_id, trigger, self.name)
        if claim is None:
            log.info("%s not started: disabled, fatal or running elsewhere", app_id)
            return
        name = registry_module.name_for(claim.settings, claim.app_name)
        target, load_error = None, None
        try:
            target = self.registry.get(name)
        except Exception as exc:
            load_error = f"cannot load app {name!r}: {error_text(exc)}"
            log.exception("%s", load_error)
        ctx = AppContext(
            app_id=claim.app_id,
            runtime_id=claim.runtime_id,
            settings=claim.settings,
            batcher=self.batcher,
            logger_name=getattr(target, "__module__", None) or name,
        )
        run = Run(
            claim,
            target,
            ctx,
            host=self.name,
            fatal_after=self.config.fatal_after,
            on_done=self._run_done,
            load_error=load_error,
        )
        with self._lock:
            self._active[app_id] = run
        log.info("run %s started (%s)", claim.runtime_id, trigger)
        run.start()

    def _run_done(self, run: Run) -> None:
        with self._lock:
            if self._active.get(run.app_id) is run:
                del self._active[run.app_id]
            self._flushed.pop(run.runtime_id, None)
            restart = run.app_id in self._restart
            self._restart.discard(run.app_id)
            if restart and not self._stopping.is_set():
                self._queued[run.app_id] = _Queued("command", run.is_service)
        outcome = run.outcome
        log.info(
            "run %s ended: %s",
            run.runtime_id,
            outcome.status.value if outcome is not None else "closed elsewhere",
        )
        self._wake.set()

    def _flush_progress(self) -> None:
        moved = []
        with self._lock:
            for run in self._active.values():
                counts = run.ctx.counts()
                if counts.version != self._flushed.get(run.runtime_id, 0):
                    moved.append((run, counts))
        if not moved:
            return
        now = utcnow()
        with connected(), write_transaction():
            for run, counts in moved:
                Apps.update(
                    {
                        Apps.progress_current: counts.current,
                        Apps.progress_total: counts.total,
                        Apps.progress_updated: now,
                    }
                ).where(Apps.id == run.app_id, Apps.current_runtime == run.runtime_id).execute()
        with self._lock:
            for run, counts in moved:
                if run.app_id in self._active:
                    self._flushed[run.runtime_id] = counts.version

    def _heartbeat(self) -> None:
        runs = list(self.active().values())
        if not runs:
            return
        now = utcnow()
        with connected(), write_transaction():
            for run in runs:
                counts = run.ctx.counts()
                Runtime.update(
                    heartbeat=now,
                    records_total=counts.records_total,
                    records_solved=counts.solved,
                    records_failed=counts.failed,
                ).where(
                    Runtime.id == run.runtime_id, Runtime.status == RuntimeStatus.RUNNING
                ).execute()

    def _force_overdue(self) -> None:
        now = time.monotonic()
        for run in list(self.active().values()):
            if run.overdue(now):
                log.warning("run %s ignored its stop for the grace period; forcing", run.runtime_id)
                run.force()

    def _close_stale(self) -> None:
        close_stale_runtimes(
            self.config.stale_after,
            groups=self.config.groups or None,
            fatal_after=self.config.fatal_after,
        )

    # -- status writes -----------------------------------------------------------------

    def _set_status(
        self, app_ids: Iterable[str], status: RunStatus, *, only_from: Sequence[RunStatus]
    ) -> None:
        changed = []
        with connected():
            for app_id in app_ids:
                if (
                    Apps.update(run_status=status, updated=utcnow())
                    .where(Apps.id == app_id, Apps.run_status.in_(list(only_from)))
                    .execute()
                ):
                    changed.append(app_id)
        for app_id in changed:
            status_changed(app_id, only_from[0], status)

    def _mark_stopping(self, runs: Iterable[Run]) -> None:
        changed = []
        with connected():
            for run in runs:
                if (
                    Apps.update(run_status=RunStatus.STOPPING, updated=utcnow())
                    .where(
                        Apps.id == run.app_id,
                        Apps.current_runtime == run.runtime_id,
                        Apps.run_status == RunStatus.RUNNING,
                    )
                    .execute()
                ):
                    changed.append(run.app_id)
        for app_id in changed:
            status_changed(app_id, RunStatus.RUNNING, RunStatus.STOPPING)


def build_agent(
    settings: Settings,
    *,
    name: str | None = None,
    groups: Sequence[str] | None = None,
    embedded: bool = False,
) -> Agent:
    """The agent the settings describe: RabbitMQ commands unless ``embedded``."""
    config = AgentConfig.from_settings(settings, name=name, groups=groups, exclusive=embedded)
    registry = Registry.from_pairs(settings.agent_apps)
    return Agent(config, registry, rabbitmq_url=None if embedded else settings.rabbitmq_url)
