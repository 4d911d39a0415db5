"""Work the web process runs beside requests, started and stopped with the app's lifespan.

Every process re-reads the run-time settings (:class:`RuntimeSettingsRefresh`).

In the embedded default (no ``DC_RABBITMQ_URL``) the web process relays the command
outbox itself, to the in-process transport where the in-process agent listens. With
RabbitMQ configured, ``dcctl relay`` does that job in its own process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from typing import Any

from control.commands.factory import build_transport
from control.commands.relay import run_relay
from control.commands.services import outbox_written
from control.settings import Settings
from control.system.runtime_settings import REFRESH_SECONDS, RuntimeConfig

log = logging.getLogger(__name__)

EMBEDDED_IDLE_SLEEP = 0.5


class CommandRelayLifecycle:
    """Embedded mode only: the outbox relay on a daemon thread for the app's lifetime."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    async def process_startup(self, scope: dict[str, Any], event: dict[str, Any]) -> None:
        if not self._settings.embedded or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=run_relay,
            args=(build_transport(None), self._stop, EMBEDDED_IDLE_SLEEP),
            name="dc-command-relay",
            daemon=True,
        )
        self._thread.start()
        log.debug("command relay started (in-process transport)")

    async def process_shutdown(self, scope: dict[str, Any], event: dict[str, Any]) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stop.set()
        outbox_written.set()  # wake it from its idle wait
        await asyncio.to_thread(thread.join, 10)
        log.debug("command relay stopped")


class AgentLifecycle:
    """Embedded mode only: an in-process agent hosting the registered (demo) apps.

    Runs when no broker is configured and ``DC_AGENT_EMBEDDED`` is on (the default), so a
    START in ``make demo`` really runs. It listens on the in-process transport the relay
    above publishes to, and stops (cancelling its runs) when the app shuts down.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._agent: Any = None

    async def process_startup(self, scope: dict[str, Any], event: dict[str, Any]) -> None:
        if not (self._settings.embedded and self._settings.agent_embedded) or self._agent:
            return
        from control.agent.agent import build_agent  # only the embedded mode needs it

        agent = build_agent(self._settings, embedded=True)
        await asyncio.to_thread(agent.start)
        self._agent = agent

    async def process_shutdown(self, scope: dict[str, Any], event: dict[str, Any]) -> None:
        agent, self._agent = self._agent, None
        if agent is not None:
            await asyncio.to_thread(agent.stop)


class RuntimeSettingsRefresh:
    """Between startup and shutdown, re-reads the stored run-time settings every
    ``refresh_seconds`` (control/system/runtime_settings.py), so changes made through
    another process reach this one."""

    def __init__(self, runtime: RuntimeConfig, refresh_seconds: float = REFRESH_SECONDS) -> None:
        self.runtime = runtime
        self.refresh_seconds = refresh_seconds
        self._task: asyncio.Task[None] | None = None

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_seconds)
            try:
                await asyncio.to_thread(self.runtime.load)
            except Exception:  # a refresh must never end the loop
                log.exception("run-time settings refresh failed")

    async def process_startup(self, scope: dict[str, Any], event: dict[str, Any]) -> None:
        if self._task is None and self.refresh_seconds > 0:
            self._task = asyncio.create_task(self._refresh_forever(), name="dc-runtime-config")

    async def process_shutdown(self, scope: dict[str, Any], event: dict[str, Any]) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
