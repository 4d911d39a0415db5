"""Hand the seeded fleet over to the live agent of ``make demo``.

The seed draws a moment of a busy fleet: some apps in the middle of a run. No agent is
running those runs, though, and ``make demo``'s embedded agent is the only manager of its
apps: at start it closes every RUNNING runtime it does not own as ``agent lost``, so the
demo's first screen showed a dozen failures the demo made itself (issue 13). Handing over
instead ends each seeded run as STOPPED at seed time (a stop, not a failure: the Errors
view stays honest) and makes its app due now, so the live agent starts a real run of it
within seconds, with real progress and logs.
"""

from __future__ import annotations

import datetime as dt
from typing import cast

from control.apps.models import Apps
from control.clock import utcnow
from control.db.database import database
from control.enums import RunStatus, RuntimeStatus
from control.runtimes.models import Runtime


def hand_over(now: dt.datetime | None = None) -> int:
    """End the seeded runs in progress and make their apps due; how many were handed over."""
    moment = now or utcnow()
    with database.atomic():
        running = Runtime.select(Runtime.id, Runtime.app, Runtime.started).where(
            Runtime.status == RuntimeStatus.RUNNING
        )
        # peewee's stubs type a query's rows as models even when it yields tuples
        live = cast("list[tuple[str, str, dt.datetime]]", list(running.tuples()))
        for run_id, app_id, started in live:
            ended = max(moment, started)
            Runtime.update(status=RuntimeStatus.STOPPED, ended=ended, heartbeat=ended).where(
                Runtime.id == run_id
            ).execute()
            Apps.update(
                run_status=RunStatus.IDLE,
                current_runtime=None,
                last_runtime=run_id,
                progress_current=None,
                progress_total=None,
                progress_updated=None,
                next_run=moment,  # due now: the live agent starts it at its first tick
                updated=moment,
            ).where(Apps.id == app_id, Apps.current_runtime == run_id).execute()
    return len(live)
