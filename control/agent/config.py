"""How an agent behaves: its name, groups, concurrency and timings (``DC_AGENT_*``)."""

from __future__ import annotations

import socket
from collections.abc import Sequence
from dataclasses import dataclass

from control.settings import Settings


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
