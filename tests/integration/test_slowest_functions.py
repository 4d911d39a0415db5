"""The slowest functions ranked from the pairs of the longest calls give exactly the
ranking of every (function, app) pair, for every window and length of list, ties
included."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from control.performance import pairs, services, slowest
from tests.factories import make_app, make_function_log

NOW = dt.datetime(2025, 3, 10, 12, 40)
FUNCTIONS = {"fetch": 1.0, "parse": 0.25, "ocr": 6.0, "export": 3.0}


def every_pair(n: int, since: dt.datetime | None, until: dt.datetime | None) -> list[tuple]:
    """The ranking of every pair, as the endpoint computed it before."""
    return list(slowest._ranked(None, since, until).limit(n).tuples())


@pytest.fixture
def calls(db) -> None:
    """1,500 calls of 40 apps over ten days, heavy-tailed runtimes (as a fleet's are),
    and two pairs that tie on average and maximum."""
    rng = random.Random(3)
    apps = [make_app() for _ in range(40)]
    for _ in range(1500):
        name = rng.choice(list(FUNCTIONS))
        seconds = round(FUNCTIONS[name] * rng.lognormvariate(0, 0.8) * 4) / 4
        make_function_log(
            rng.choice(apps),
            function_name=name,
            started=NOW - dt.timedelta(seconds=rng.randrange(10 * 86_400)),
            runtime_seconds=seconds,
            task_size=rng.randint(1, 500),
        )
    for app in apps[:2]:  # the same calls in two apps: a tie broken by the app's id
        for seconds in (90.0, 10.0):
            make_function_log(
                app,
                function_name="tie",
                started=NOW - dt.timedelta(hours=3),
                runtime_seconds=seconds,
            )


WINDOWS = [
    (None, None),
    (NOW - dt.timedelta(hours=24), NOW),
    (NOW - dt.timedelta(days=7), NOW),
    (NOW - dt.timedelta(days=9, hours=5), NOW - dt.timedelta(days=2)),
]


@pytest.mark.parametrize(("since", "until"), WINDOWS)
@pytest.mark.parametrize("n", [1, 10, 50])
def test_the_slowest_pairs_equal_the_ranking_of_every_pair(calls, n, since, until):
    assert slowest.slowest_rows(n, since, until) == every_pair(n, since, until)


def test_a_short_seed_ranks_every_pair(calls, monkeypatch):
    monkeypatch.setattr(slowest, "SEED_CALLS", 1)  # one pair only: fewer than n
    assert slowest.slowest_rows(10, None, None) == every_pair(10, None, None)


def test_the_tie_is_broken_by_the_app(calls):
    found = services.slowest(3, NOW - dt.timedelta(hours=4), NOW)
    ties = [f for f in found if f["function_name"] == "tie"]
    assert [f["avg_runtime_seconds"] for f in ties] == [50.0, 50.0]
    assert [f["app_id"] for f in ties] == sorted(f["app_id"] for f in ties)


def test_all_time_from_the_sums_per_pair_equals_the_ranking_of_every_pair(calls):
    assert pairs.roll_up(NOW) is not None
    assert slowest.slowest_rows(10, None, None) == every_pair(10, None, None)
    top = every_pair(10, None, None)
    app = make_app()
    # written since the rewrite: a new slowest pair, and the slowest one slowed down less
    make_function_log(app, function_name="ocr", started=NOW, runtime_seconds=500.0)
    name, app_id = top[0][0], top[0][1]
    for _ in range(40):
        make_function_log(
            make_app_like(app_id), function_name=name, started=NOW, runtime_seconds=0.25
        )
    for n in (1, 10, 50):
        assert slowest.slowest_rows(n, None, None) == every_pair(n, None, None)
    assert slowest.slowest_rows(1, None, None)[0][1] == app.id
    pairs.roll_up(NOW)
    assert slowest.slowest_rows(10, None, None) == every_pair(10, None, None)


def make_app_like(app_id: str):
    """An app object for a function log row of ``app_id`` (only its id is read)."""
    return type("AppId", (), {"id": app_id})()
