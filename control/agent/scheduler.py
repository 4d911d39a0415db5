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


def due_apps(
    groups: Sequence[str] | None = None, now: dt.datetime | None = None, limit: int = 500
) -> list[Apps]:
    """Apps whose ``next_run`` has come, oldest first (served by the ``next_run`` index)."""
    query = (
        Apps.select()
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
