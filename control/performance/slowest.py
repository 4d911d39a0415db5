"""The slowest (function, app) pairs of a window, by average runtime, without
aggregating every call of it.

A fleet's function log is sparse per pair (10,000 apps x 12 functions, a few calls each
a week: bench/fleet_scale.py), so an hourly or daily rollup per pair would hold about as
many rows as the calls themselves. Instead the ranking reads only the pairs that can
make it, found from the longest calls (an index on ``(runtime_seconds, started)``):

1. the pairs of the ``SEED_CALLS`` longest calls of the window are ranked exactly; the
   ``n``-th average among them is a bar that the true ``n``-th average is at least;
2. a pair whose every call is shorter than the bar averages below it, so the true
   ``n`` slowest are among the pairs with a call at least as long as the bar, and those
   are ranked exactly, by the same query as every pair would be.

The answer is the one ranking every pair would give; only the work differs (on the
fleet benchmark a few hundred pairs instead of 120,000 for a day or a week). When the
seed holds fewer than ``n`` pairs, or more than ``MAX_PAIRS`` pairs can make the list
(all time on the fleet benchmark: the busiest pairs all have a long call), every pair is
ranked.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from peewee import SQL, ValuesList, fn

from control.performance import pairs
from control.performance.models import FunctionLog
from control.querying import within

SEED_CALLS = 200
# past this many pairs that can make the list, ranking every pair is cheaper
MAX_PAIRS = 1000
# the bar is lowered by this fraction: an average rounded up past every call it
# averages would otherwise leave its own pair out
SLACK = 1e-9


Pair = tuple[str, str]
"""(function name, app id)."""


def _ranked(pairs: list[Pair] | None, since: dt.datetime | None, until: dt.datetime | None) -> Any:
    """Per (function, app) of the calls in ``[since, until)`` (of ``pairs`` only, when
    given): average and longest runtime, average task size, calls; the slowest first,
    ties to the higher maximum, then by name and app."""
    avg_runtime = fn.AVG(FunctionLog.runtime_seconds)
    max_runtime = fn.MAX(FunctionLog.runtime_seconds)
    query = FunctionLog.select(
        FunctionLog.function_name,
        FunctionLog.app,
        avg_runtime,
        max_runtime,
        fn.AVG(FunctionLog.task_size),
        fn.COUNT(SQL("*")),  # not COUNT(id): the index holds every column read
    )
    if pairs is not None:
        # a list of values, not a subquery: the planner then knows how few pairs it
        # joins and reads each pair's calls from its index
        wanted = ValuesList(pairs).cte("wanted", columns=("function_name", "app_id"))
        query = query.join(
            wanted,
            on=(FunctionLog.function_name == wanted.c.function_name)
            & (FunctionLog.app == wanted.c.app_id),
        ).with_cte(wanted)
    return (
        within(query, FunctionLog.started, since, until)
        .group_by(FunctionLog.function_name, FunctionLog.app)
        .order_by(
            avg_runtime.desc(),
            max_runtime.desc(),
            FunctionLog.function_name.asc(),
            FunctionLog.app.asc(),
        )
    )


def _pairs_of(query: Any, since: dt.datetime | None, until: dt.datetime | None) -> list[Pair]:
    """The distinct (function, app) pairs of the calls ``query`` selects."""
    rows = within(query, FunctionLog.started, since, until).tuples()
    return list(dict.fromkeys((name, app) for name, app in rows))


def slowest_rows(
    n: int, since: dt.datetime | None, until: dt.datetime | None
) -> list[tuple[Any, ...]]:
    """The ``n`` slowest pairs of ``[since, until)`` as rows of :func:`_ranked`."""
    if since is None and until is None:
        # all time: the pairs the rewritten sums leave in (control.performance.pairs)
        kept = pairs.candidates(n)
        if kept is not None:
            return list(_ranked(kept, None, None).limit(n).tuples()) if kept else []
    pair = FunctionLog.select(FunctionLog.function_name, FunctionLog.app)
    longest = pair.order_by(FunctionLog.runtime_seconds.desc()).limit(SEED_CALLS)
    seed = _pairs_of(longest, since, until)
    if not seed:
        return []
    top = list(_ranked(seed, since, until).limit(n).tuples())
    if len(top) < n:  # fewer than n pairs in the seed
        return list(_ranked(None, since, until).limit(n).tuples())
    bar = float(top[-1][2])
    longer = pair.where(FunctionLog.runtime_seconds >= bar - abs(bar) * SLACK)
    # the seed's pairs past its n-th are beaten by n pairs already: only its top remain
    known = set(seed)
    wanted = [(name, app) for name, app, *_ in top]
    wanted += [p for p in _pairs_of(longer, since, until) if p not in known]
    # the bound prunes too little: ranking every pair at once is cheaper
    every = len(wanted) > MAX_PAIRS
    return list(_ranked(None if every else wanted, since, until).limit(n).tuples())
