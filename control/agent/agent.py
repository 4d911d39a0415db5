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

The pieces: ``config`` (``AgentConfig``), ``runtimes`` (claim a run, record its end),
``runner`` (the run's thread), ``reporting`` (progress, heartbeats, status writes),
``stale`` (closing lost runs, recovery at start), ``commands`` and ``scheduler``.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from control.agent import registry as registry_module
from control.agent.commands import CommandHandler, CommandSource, build_source
from control.agent.config import AgentConfig
from control.agent.context import AppContext
from control.agent.heartbeat import Heartbeat
from control.agent.logwriter import LogBatcher
from control.agent.registry import Registry
from control.agent.reporting import (
    mark_stopping,
    reset_status,
    set_status,
    write_progress,
)
from control.agent.runner import Run
from control.agent.runtimes import claim_run, error_text
from control.agent.scheduler import due_apps
from control.agent.stale import close_stale_runtimes, recover_hosted
from control.apps.models import Apps
from control.db.database import connected
from control.enums import FatalFlag, RunStatus
from control.runtimes.progress import ProgressEvents
from control.settings import Settings

log = logging.getLogger(__name__)


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
        self._progress_events = ProgressEvents()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._unhosted_warned: set[str] = set()
        self._heart = Heartbeat(config)

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
        return recover_hosted(
            self.hosted_app_ids(),
            host=self.name,
            exclusive=self.config.exclusive,
            stale_after=self.config.stale_after,
            fatal_after=self.config.fatal_after,
        )

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
            set_status(queued, RunStatus.IDLE, only_from=(RunStatus.SCHEDULED,))
        for run in runs:
            run.resume_service = run.is_service  # the next agent start resumes it
            run.request_stop("agent shutting down", grace)
        mark_stopping(runs)
        deadline = time.monotonic() + grace
        for run in runs:
            run.done.wait(max(0.0, deadline - time.monotonic()))
        for run in runs:
            if not run.done.is_set():
                run.force()
        self.batcher.close()
        self._heart.last()
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
            set_status([app_id], RunStatus.IDLE, only_from=(RunStatus.SCHEDULED,))
        if run is None:
            return queued is not None
        run.request_stop(reason, self.config.stop_grace)
        mark_stopping([run])
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
        reset_status(app)

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
                set_status(
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
            self._progress_events.ended(run.runtime_id)
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
        now = write_progress(moved)
        with self._lock:
            for run, counts in moved:
                if run.app_id in self._active:
                    self._flushed[run.runtime_id] = counts.version
        for run, counts in moved:  # after the commit: a client can read what it hears of
            self._progress_events.recorded(
                run.app_id, run.runtime_id, counts.current, counts.total, run.claim.started, now
            )

    def _heartbeat(self) -> None:
        with self._lock:
            running = list(self._active.values())
            waiting = [app_id for app_id, queued in self._queued.items() if queued.marked]
        self._heart.beat(running, waiting)

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
