"""Agents' heartbeats: written by each agent, read by ``/api/v1/system/agents`` and the
app detail ("why is my app still SCHEDULED?").

An agent rewrites its row every ``DC_AGENT_HEARTBEAT_SECONDS`` (:func:`beat`); it is
*online* while its ``last_seen`` is younger than ``DC_AGENT_OFFLINE_AFTER_SECONDS``. A
killed agent simply stops beating: it turns offline within the timeout, and its row
still names the apps it was running and those that waited for one of its slots.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from control.agents.models import Agent
from control.clock import utcnow
from control.db.database import connected


@dataclass(frozen=True)
class Beat:
    """What an agent reports about itself."""

    name: str
    host: str
    groups: Sequence[str]
    slots: int
    running: Sequence[str]  # app ids with a run in progress (services too)
    queued: Sequence[str]  # app ids waiting for a free slot
    version: str
    started: dt.datetime
    busy: int | None = None  # batch runs (services take no slot); None: len(running)


def beat(report: Beat, now: dt.datetime | None = None) -> None:
    """Write (insert or replace) the agent's row, ``last_seen`` now."""
    values: dict[Any, Any] = {
        Agent.host: report.host[:255],
        Agent.groups: list(report.groups),
        Agent.slots: report.slots,
        Agent.busy: len(report.running) if report.busy is None else report.busy,
        Agent.running: sorted(report.running),
        Agent.queued: list(report.queued),
        Agent.version: report.version[:32],
        Agent.started: report.started,
        Agent.last_seen: now or utcnow(),
    }
    with connected():
        (
            Agent.insert({Agent.name: report.name[:100], **values})
            .on_conflict(conflict_target=[Agent.name], update=values)
            .execute()
        )


def is_online(agent: Agent, offline_after: float, now: dt.datetime) -> bool:
    """Whether the agent beat within the last ``offline_after`` seconds."""
    return (now - agent.last_seen).total_seconds() <= offline_after


def view(agent: Agent, offline_after: float, now: dt.datetime) -> dict[str, Any]:
    """One agent as the API shows it."""
    running = list(agent.running or [])
    queued = list(agent.queued or [])
    return {
        "name": agent.name,
        "host": agent.host,
        "groups": list(agent.groups or []),
        "online": is_online(agent, offline_after, now),
        "last_seen": agent.last_seen,
        "seconds_since_seen": max(0.0, (now - agent.last_seen).total_seconds()),
        "started": agent.started,
        "version": agent.version,
        "slots": agent.slots,
        "slots_busy": agent.busy,
        "running": running,
        "queued": queued,
    }


def list_agents(offline_after: float, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Every agent that ever beat: online ones first, then by name."""
    now = now or utcnow()
    with connected():
        rows = list(Agent.select().order_by(Agent.name))
    shown = [view(agent, offline_after, now) for agent in rows]
    return sorted(shown, key=lambda a: (not a["online"], a["name"]))


def hosting(app_id: str, offline_after: float, now: dt.datetime | None = None) -> dict[str, Any]:
    """Which agent has ``app_id`` running or waiting for a slot (the most recently seen
    if several say so): ``{"name", "online", "waiting_for_slot"}``, all None/False when
    no agent names it."""
    now = now or utcnow()
    with connected():
        rows = list(Agent.select().order_by(Agent.last_seen.desc()))
    for agent in rows:
        running, queued = agent.running or [], agent.queued or []
        if app_id in running or app_id in queued:
            return {
                "name": agent.name,
                "online": is_online(agent, offline_after, now),
                "waiting_for_slot": app_id not in running,
            }
    return {"name": None, "online": None, "waiting_for_slot": False}


def forget(name: str) -> bool:
    """Delete an agent's row (a retired agent); whether there was one."""
    with connected():
        return bool(Agent.delete().where(Agent.name == name).execute())
