"""The baseline and verdict math: pure functions, no database."""

from __future__ import annotations

import datetime as dt

import pytest

from control.health.baselines import Baseline, add_sample, baseline_of, parse_samples, percentile
from control.health.verdicts import (
    AppSnapshot,
    CurrentRun,
    Thresholds,
    evaluate,
    judge_finished,
    judge_low_output,
    judge_slow,
    slow_threshold,
)

NOW = dt.datetime(2025, 1, 15, 12, 0, 0)
LIMITS = Thresholds(
    slow_factor=1.5,
    low_output_factor=0.5,
    stalled_seconds=60,
    missed_grace_seconds=120,
    min_runs=3,
    heartbeat_live_seconds=30,
    fatal_after=3,
)


def test_percentiles_interpolate_between_ranks() -> None:
    assert percentile([], 50) is None
    assert percentile([7], 95) == 7
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([10, 20, 30], 95) == pytest.approx(29.0)
    assert percentile(list(range(1, 101)), 95) == pytest.approx(95.05)


def test_samples_keep_the_last_n_once_per_run() -> None:
    samples = [("r1", 10.0, 5), ("r2", 11.0, 6)]
    samples = add_sample(samples, ("r3", 12.0, 7), keep=2)
    assert [s[0] for s in samples] == ["r2", "r3"]
    assert add_sample(samples, ("r3", 12.0, 7), keep=2) == samples  # the same run twice
    assert parse_samples([["r1", 1, 2], "junk", [None], ["r2", "x", 1]]) == [("r1", 1.0, 2)]


def test_baseline_of_samples() -> None:
    base = baseline_of([("a", 10.0, 100), ("b", 20.0, 300), ("c", 30.0, 200)])
    assert base.runs == 3
    assert base.duration_p50 == 20
    assert base.duration_p95 == pytest.approx(29.0)
    assert base.records_p50 == 200
    assert baseline_of([]).duration_p95 is None


def test_slow_needs_min_runs_and_exceeds_p95_times_factor() -> None:
    few = Baseline(2, 10.0, 10.0, 100.0)
    assert slow_threshold(few, LIMITS) is None
    base = Baseline(5, 10.0, 20.0, 100.0)
    assert slow_threshold(base, LIMITS) == 30.0
    assert judge_slow(30.0, base, LIMITS, running=True) is None
    evidence = judge_slow(31.0, base, LIMITS, running=True)
    assert evidence == {
        "seconds": 31.0,
        "threshold_seconds": 30.0,
        "duration_p95": 20.0,
        "factor": 1.5,
        "running": True,
    }


def test_a_run_within_a_second_of_the_p95_is_never_slow() -> None:
    tiny = Baseline(5, 0.2, 0.2, 1.0)
    assert slow_threshold(tiny, LIMITS) == pytest.approx(1.2)
    assert judge_slow(1.0, tiny, LIMITS, running=False) is None


def test_low_output_below_p50_times_factor_or_zero() -> None:
    base = Baseline(5, 10.0, 20.0, 100.0)
    assert judge_low_output(50, base, LIMITS) is None
    assert judge_low_output(49, base, LIMITS) is not None
    no_factor = Thresholds(low_output_factor=0.0, min_runs=3)
    assert judge_low_output(0, base, no_factor) is not None  # zero where the p50 is not
    assert judge_low_output(0, Baseline(5, 1.0, 1.0, 0.0), LIMITS) is None  # zero is normal
    judged = judge_finished("FAILED", 5.0, 0, base, LIMITS)
    assert judged == {"slow": None, "low_output": None}  # a failed run is not low output


def snapshot(**changes: object) -> AppSnapshot:
    values: dict[str, object] = {
        "app_id": "app",
        "disabled": False,
        "fatal": False,
        "next_run": NOW + dt.timedelta(minutes=5),
        "consecutive_failures": 0,
        "progress_updated": None,
        "progress_current": None,
        "current": None,
        "baseline": Baseline(5, 10.0, 20.0, 100.0),
        "last_run": None,
        "settings": None,
    }
    values.update(changes)
    return AppSnapshot(**values)  # type: ignore[arg-type]


def test_a_healthy_app_holds_no_verdict() -> None:
    assert evaluate(snapshot(), NOW, LIMITS) == {}


def test_slow_is_raised_while_running() -> None:
    run = CurrentRun("r9", NOW - dt.timedelta(seconds=40), NOW)
    found = evaluate(snapshot(current=run, progress_updated=NOW), NOW, LIMITS)
    assert set(found) == {"slow"}
    assert found["slow"]["runtime"] == "r9"
    assert found["slow"]["running"] is True


def test_per_app_override_of_the_slow_factor() -> None:
    run = CurrentRun("r9", NOW - dt.timedelta(seconds=40), NOW)
    app = snapshot(current=run, progress_updated=NOW, settings={"health": {"slow_factor": 3}})
    assert evaluate(app, NOW, LIMITS) == {}
    ignored = snapshot(current=run, progress_updated=NOW, settings={"health": {"slow_factor": "x"}})
    assert "slow" in evaluate(ignored, NOW, LIMITS)


def test_stalled_needs_a_live_heartbeat_and_no_progress() -> None:
    started = NOW - dt.timedelta(seconds=25)
    quiet = NOW - dt.timedelta(seconds=61)
    live = CurrentRun("r9", started, NOW - dt.timedelta(seconds=5))
    found = evaluate(snapshot(current=live, progress_updated=quiet), NOW, LIMITS)
    assert set(found) == {"stalled"}
    assert found["stalled"]["quiet_seconds"] == 61
    dead = CurrentRun("r9", started, NOW - dt.timedelta(seconds=31))
    assert evaluate(snapshot(current=dead, progress_updated=quiet), NOW, LIMITS) == {}
    moving = snapshot(current=live, progress_updated=NOW - dt.timedelta(seconds=10))
    assert evaluate(moving, NOW, LIMITS) == {}


def test_missed_after_the_grace_when_enabled_and_not_fatal() -> None:
    late = NOW - dt.timedelta(seconds=121)
    found = evaluate(snapshot(next_run=late), NOW, LIMITS)
    assert set(found) == {"missed"}
    assert found["missed"]["late_seconds"] == 121
    assert evaluate(snapshot(next_run=NOW - dt.timedelta(seconds=100)), NOW, LIMITS) == {}
    assert evaluate(snapshot(next_run=late, disabled=True), NOW, LIMITS) == {}
    assert evaluate(snapshot(next_run=late, fatal=True), NOW, LIMITS) == {}
    running = CurrentRun("r9", NOW, NOW)
    assert "missed" not in evaluate(snapshot(next_run=late, current=running), NOW, LIMITS)


def test_failing_below_the_fatal_threshold() -> None:
    assert set(evaluate(snapshot(consecutive_failures=2), NOW, LIMITS)) == {"failing"}
    assert evaluate(snapshot(consecutive_failures=3, fatal=True), NOW, LIMITS) == {}
    assert evaluate(snapshot(consecutive_failures=3), NOW, LIMITS) == {}


def test_the_last_run_judgement_holds_until_the_next_run_ends() -> None:
    last = {"runtime": "r8", "slow": None, "low_output": {"records": 0, "records_p50": 100}}
    found = evaluate(snapshot(last_run=last), NOW, LIMITS)
    assert set(found) == {"low_output"}
    assert found["low_output"]["runtime"] == "r8"
