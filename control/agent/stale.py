"""Closing runtimes whose agent is gone: nothing stays RUNNING forever.

A running agent heart-beats its runs (``Runtime.heartbeat``) every few seconds. A
RUNNING runtime whose heartbeat (or start, if it never beat) is older than a threshold
lost its agent (killed, host down): ``close_stale_runtimes`` closes it as FAILED with the
error ``agent lost (no heartbeat)`` and puts its app back (``run_status`` FAILED, one more
consecutive failure, FATAL after ``fatal_after``; a service is given a ``next_run`` so
that an agent restarts it). The agent calls it at start for its own groups, and the
maintenance scheduler periodically for all of them.

``close_runtimes`` closes given runtimes the same way whatever their heartbeat: an
agent starting up closes the runs still recorded under its own name, which its previous
process cannot be running any more (``recover_hosted``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence

from peewee import fn

from control.agent.runtimes import finish_run
from control.apps.models import Apps
from control.clock import utcnow
from control.db.database import connected
from control.enums import RunStatus, RuntimeStatus
from control.logs.models import Logs
from control.querying import tuples
from control.runtimes.models import Runtime

log = logging.getLogger(__name__)

LOST = "agent lost (no heartbeat)"
RESTARTED = "agent lost (restarted during the run)"
MODULE = "control.agent.stale"


def _fatal_after(value: int | None) -> int:
    if value is not None:
        return value
    from control.settings import get_settings

    return get_settings().agent_fatal_after


def running(
    *,
    groups: Sequence[str] | None = None,
    app_ids: Iterable[str] | None = None,
    host: str | None = None,
    heartbeat_before: dt.datetime | None = None,
) -> list[tuple[str, str]]:
    """``(runtime id, app id)`` of RUNNING runtimes matching every filter given."""
    query = (
        Runtime.select(Runtime.id, Runtime.app)
        .join(Apps, on=(Runtime.app == Apps.id))
        .where(Runtime.status == RuntimeStatus.RUNNING)
    )
    if groups:
        query = query.where(Apps.group.in_(list(groups)))
    if app_ids is not None:
        query = query.where(Runtime.app.in_(list(app_ids)))
    if host is not None:
        query = query.where(Runtime.host == host)
    if heartbeat_before is not None:
        query = query.where(fn.COALESCE(Runtime.heartbeat, Runtime.started) < heartbeat_before)
    with connected():
        return [(runtime_id, app_id) for runtime_id, app_id in tuples(query)]


def close_runtimes(
    runtimes: Iterable[tuple[str, str]], error: str, *, fatal_after: int | None = None
) -> list[str]:
    """Close ``(runtime id, app id)`` pairs still RUNNING as FAILED with ``error``."""
    limit = _fatal_after(fatal_after)
    closed: list[str] = []
    for runtime_id, app_id in runtimes:
        try:
            outcome = finish_run(
                runtime_id, app_id, RuntimeStatus.FAILED, error, None, fatal_after=limit
            )
        except Exception:
            log.exception("could not close runtime %s", runtime_id)
            continue
        if outcome is None:
            continue  # finished meanwhile
        closed.append(runtime_id)
        log.warning("closed runtime %s as FAILED: %s", runtime_id, error)
        with connected():
            Logs.create(
                app=app_id,
                runtime=runtime_id,
                level=logging.ERROR,
                module=MODULE,
                function="close_runtimes",
                message=f"Run failed: {error}",
                timestamp=utcnow(),
            )
    return closed


def close_stale_runtimes(
    older_than: dt.timedelta | float,
    *,
    groups: Sequence[str] | None = None,
    app_ids: Iterable[str] | None = None,
    now: dt.datetime | None = None,
    fatal_after: int | None = None,
) -> list[str]:
    """Close RUNNING runtimes silent for longer than ``older_than`` as FAILED; their ids."""
    if not isinstance(older_than, dt.timedelta):
        older_than = dt.timedelta(seconds=older_than)
    cutoff = (now or utcnow()) - older_than
    stale = running(groups=groups, app_ids=app_ids, heartbeat_before=cutoff)
    return close_runtimes(stale, LOST, fatal_after=fatal_after)


def recover_hosted(
    hosted: Sequence[str], *, host: str, exclusive: bool, stale_after: float, fatal_after: int
) -> list[str]:
    """What an agent starting up closes among the apps it hosts; the runtime ids closed.

    The runs recorded under its own ``host`` name (its previous process cannot be running
    them any more), every RUNNING run when it is ``exclusive`` (the only manager of its
    apps), and the stale ones; apps left SCHEDULED by a queue that died with its process
    go back to IDLE.
    """
    if not hosted:
        return []
    closed = close_runtimes(running(app_ids=hosted, host=host), RESTARTED, fatal_after=fatal_after)
    if exclusive:
        closed += close_runtimes(running(app_ids=hosted), LOST, fatal_after=fatal_after)
    closed += close_stale_runtimes(stale_after, app_ids=hosted, fatal_after=fatal_after)
    with connected():  # a queue that died with its process
        Apps.update(run_status=RunStatus.IDLE).where(
            Apps.id.in_(list(hosted)), Apps.run_status == RunStatus.SCHEDULED
        ).execute()
    return closed
