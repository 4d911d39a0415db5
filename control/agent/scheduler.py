"""Which apps are due: enabled, not fatal, not running, ``next_run`` reached.

``next_run`` is written when a run starts (the schedule's next fire in the app's time
zone, ``control.apps.schedule.next_fire``) and checked again when it ends, so a run
longer than its interval does not pile up missed fires: the next run is the next fire
after the end. Services have no schedule; a ``next_run`` on a service means "(re)start
it then" (after a failure, or when the agent that ran it shut down).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from control.apps.models import Apps
from control.clock import utcnow
from control.db.database import connected
from control.enums import FatalFlag, RunStatus

NOT_RUNNING = (RunStatus.IDLE, RunStatus.SCHEDULED, RunStatus.FAILED)
# What the agent reads of a due app: whether it hosts it (group, name, settings) and what
# queueing its run looks at. The agent re-reads the due apps every second, and those no
# agent here hosts stay due: reading every column of each made models of hundreds of rows
# a second.
DUE_COLUMNS = (
    *(Apps.id, Apps.group, Apps.app, Apps.settings, Apps.next_run),
    *(Apps.disabled, Apps.fatal_flag, Apps.is_service),
)


def due_apps(
    groups: Sequence[str] | None = None, now: dt.datetime | None = None, limit: int = 500
) -> list[Apps]:
    """Apps whose ``next_run`` has come, oldest first (served by the ``next_run`` index),
    with their ``DUE_COLUMNS``."""
    query = (
        Apps.select(*DUE_COLUMNS)
        .where(
            Apps.next_run <= (now or utcnow()),
            Apps.disabled == False,  # noqa: E712 - peewee expression
            Apps.fatal_flag == FatalFlag.NO_FATAL,
            Apps.run_status.in_(NOT_RUNNING),
        )
        .order_by(Apps.next_run, Apps.id)
        .limit(limit)
    )
    if groups:
        query = query.where(Apps.group.in_(list(groups)))
    with connected():
        return list(query)
