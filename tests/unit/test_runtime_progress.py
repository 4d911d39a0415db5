"""``runtime.progress``: published where the agent records progress, throttled per run."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from control.events import EventType
from control.runtimes.progress import ProgressEvents, progress_data

STARTED = dt.datetime(2025, 1, 15, 12, 0, 0)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_data_is_the_apis_progress_with_the_same_eta() -> None:
    measured = STARTED + dt.timedelta(minutes=10)
    data = progress_data("app", "run", 986, 3000, STARTED, measured)
    assert data["app"] == "app"
    assert data["runtime"] == "run"
    assert (data["current"], data["total"], data["percent"]) == (986, 3000, 32.9)
    # 986 items in 600 s: 2014 left at 1.643/s
    assert data["eta_seconds"] == round(2014 / (986 / 600), 1)
    assert progress_data("app", "run", 5, None, STARTED, measured)["percent"] is None


def test_at_most_one_event_per_run_per_interval() -> None:
    sent: list[tuple[EventType, Mapping[str, Any]]] = []
    clock = Clock()
    events = ProgressEvents(1.0, clock, lambda kind, data: sent.append((kind, data)) is None)
    measured = STARTED + dt.timedelta(seconds=30)
    assert events.recorded("a", "run-a", 1, 10, STARTED, measured)
    clock.now += 0.25
    assert not events.recorded("a", "run-a", 2, 10, STARTED, measured)  # held back
    assert events.recorded("b", "run-b", 1, 10, STARTED, measured)  # another run: its own
    clock.now += 1.0
    assert events.recorded("a", "run-a", 3, 10, STARTED, measured)
    assert [(k, d["app"], d["current"]) for k, d in sent] == [
        (EventType.RUNTIME_PROGRESS, "a", 1),
        (EventType.RUNTIME_PROGRESS, "b", 1),
        (EventType.RUNTIME_PROGRESS, "a", 3),
    ]
    events.ended("run-a")
    assert events.recorded("a", "run-a", 4, 10, STARTED, measured)  # a new throttle
