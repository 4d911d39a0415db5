"""``runtime.progress``: a running app's progress, pushed to the dashboards as it is
recorded, so the grid's bar and ETA move at once rather than at the next poll.

The agent records progress in one place (its periodic flush of the apps' counters into
``Apps.progress_*``); right after that write it hands the new values to
:class:`ProgressEvents`, which publishes at most one event per run per ``every_seconds``
(a run can report thousands of steps a second; the flush runs every agent tick). A step
held back by the throttle is superseded by the next one, and the run's end publishes
``runtime.completed``: the dashboard's poll (3-5 s) covers anything in between.

The ETA is the API's (``control.apps.run_state.eta_seconds``): the same arithmetic as
``GET /apps``, so a pushed value equals the next polled one.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping
from typing import Any

from control.apps.run_state import eta_seconds, figures
from control.events import EventType, publish

PROGRESS_EVENT_SECONDS = 1.0  # per run: at most one runtime.progress a second
KEEP_RUNS = 1024  # throttle entries kept before old ones are dropped

Publish = Callable[[EventType, Mapping[str, Any]], bool]


def progress_data(
    app_id: str,
    runtime_id: str,
    current: int | None,
    total: int | None,
    started: dt.datetime | None,
    measured: dt.datetime,
) -> dict[str, Any]:
    """The event's data: the shape of ``GET /apps``'s ``progress`` (and the run)."""
    return {
        "app": app_id,
        "runtime": runtime_id,
        **figures(current, total, eta_seconds(current, total, started, measured)),
        "updated": measured,
    }


class ProgressEvents:
    """Publishes ``runtime.progress`` for recorded progress, throttled per run. Used from
    one thread (the agent's loop)."""

    def __init__(
        self,
        every_seconds: float = PROGRESS_EVENT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        publisher: Publish | None = None,
    ) -> None:
        self.every_seconds = every_seconds
        self._clock = clock
        self._publish = publisher or publish
        self._sent: dict[str, float] = {}

    def recorded(
        self,
        app_id: str,
        runtime_id: str,
        current: int | None,
        total: int | None,
        started: dt.datetime | None,
        measured: dt.datetime,
    ) -> bool:
        """Progress was just written for this run: publish it unless one went out for the
        run less than ``every_seconds`` ago. True when published."""
        now = self._clock()
        last = self._sent.get(runtime_id)
        if last is not None and now - last < self.every_seconds:
            return False
        self._sent[runtime_id] = now
        if len(self._sent) > KEEP_RUNS:
            cutoff = now - self.every_seconds
            self._sent = {k: v for k, v in self._sent.items() if v >= cutoff}
        data = progress_data(app_id, runtime_id, current, total, started, measured)
        return bool(self._publish(EventType.RUNTIME_PROGRESS, data))

    def ended(self, runtime_id: str) -> None:
        """The run is over: forget its throttle."""
        self._sent.pop(runtime_id, None)
