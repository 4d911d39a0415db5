"""The agent's heartbeat: its runs' heartbeats and its own row (``control.agents``).

Every ``heartbeat_seconds`` the agent stamps its RUNNING runtimes with their record
counts so far, and reports itself: host, groups, slots, the apps it runs and the apps
waiting for a slot, so ``/api/v1/system/agents`` can say who is online and why an app
is still SCHEDULED.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Sequence

from peewee import PeeweeException

from control import __version__
from control.agent.config import AgentConfig
from control.agent.reporting import write_agent_beat, write_heartbeats
from control.agent.runner import Run
from control.agents.services import Beat
from control.clock import utcnow

log = logging.getLogger(__name__)


class Heartbeat:
    """Writes an agent's heartbeats; a failure to write its own row is logged once (a
    database not yet migrated to it must not stop the runs)."""

    def __init__(self, config: AgentConfig) -> None:
        self.config = config
        self.started = utcnow()
        self._failed = False

    def report(self, running: Sequence[Run], queued: Sequence[str]) -> Beat:
        """What the agent reports of itself: its slots (services take none), its runs
        and the apps waiting for a slot."""
        batch = [run.app_id for run in running if not run.is_service]
        services = [run.app_id for run in running if run.is_service]
        return Beat(
            name=self.config.name,
            host=socket.gethostname(),
            groups=self.config.groups,
            slots=self.config.concurrency,
            running=batch + services,
            busy=len(batch),
            queued=list(queued),
            version=__version__,
            started=self.started,
        )

    def beat(self, running: Sequence[Run], queued: Sequence[str]) -> None:
        write_heartbeats(running)
        try:
            write_agent_beat(self.report(running, queued))
        except PeeweeException:
            if not self._failed:
                log.warning(
                    "agent %s: its own heartbeat not written", self.config.name, exc_info=True
                )
            self._failed = True
        else:
            self._failed = False

    def last(self) -> None:
        """The last report, at a clean stop: no runs, no queue (offline once the timeout
        passes); never raises."""
        try:
            write_agent_beat(self.report([], []))
        except Exception:
            log.warning("agent %s: last heartbeat not written", self.config.name, exc_info=True)
