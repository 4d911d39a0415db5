"""The ETA arithmetic: remaining items at the current run's average throughput."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest

from control.apps.run_state import eta_seconds, progress

START = dt.datetime(2025, 1, 15, 7, 30)


def at(seconds: float) -> dt.datetime:
    return START + dt.timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("current", "total", "elapsed", "expected"),
    [
        # 1000 items in 600 s: 5/3 items/s; 2000 left → 1200 s
        (1000, 3000, 600, 1200.0),
        # the spec's example row: 986 of 3000 after 10 min → 2014 / (986/600)
        (986, 3000, 600, 2014 * 600 / 986),
        # 40959 of 376869 after one hour
        (40959, 376869, 3600, (376869 - 40959) * 3600 / 40959),
        # half done: as long again
        (50, 100, 90, 90.0),
        # done (or overshot): nothing left
        (3000, 3000, 600, 0.0),
        (3100, 3000, 600, 0.0),
    ],
)
def test_eta_is_remaining_over_average_rate(current, total, elapsed, expected):
    assert eta_seconds(current, total, START, at(elapsed)) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("current", "total", "started", "measured"),
    [
        (None, 3000, START, at(600)),  # no progress reported
        (1000, None, START, at(600)),  # total unknown
        (1000, 3000, None, at(600)),  # no current runtime
        (1000, 3000, START, None),
        (0, 3000, START, at(600)),  # nothing done yet: rate 0
        (1000, 0, START, at(600)),  # empty task
        (1000, 3000, START, START),  # no time has passed
        (1000, 3000, START, at(-5)),  # reported before the run started (clock skew)
    ],
)
def test_eta_is_none_when_not_computable(current, total, started, measured):
    assert eta_seconds(current, total, started, measured) is None


def _app(current, total, updated):
    return SimpleNamespace(progress_current=current, progress_total=total, progress_updated=updated)


def test_progress_counts_the_eta_from_the_last_report():
    shown = progress(_app(1000, 3000, at(600)), START, now=at(900))
    assert shown == {
        "current": 1000,
        "total": 3000,
        "updated": at(600),
        "percent": 33.3,
        "eta_seconds": 1200.0,
        "eta": at(1800),  # 07:40 + 20 min = 08:00
    }


def test_progress_without_a_report_time_measures_to_now():
    shown = progress(_app(500, 2000, None), START, now=at(300))
    # 500 in 300 s → 5/3 per s; 1500 left → 900 s after now
    assert shown["eta_seconds"] == 900.0
    assert shown["eta"] == at(1200)
    assert shown["percent"] == 25.0


def test_progress_without_numbers_has_no_eta():
    shown = progress(_app(None, None, None), START, now=at(300))
    assert shown == {
        "current": None,
        "total": None,
        "updated": None,
        "percent": None,
        "eta_seconds": None,
        "eta": None,
    }
