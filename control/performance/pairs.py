"""Every call of the function log summed per function name and app (``function_pair``):
the first cut of the all-time slowest list.

Ranking every (function, app) pair of all time aggregates the whole function log
(2,000,000 calls on the fleet benchmark), and the bound the windowed list prunes with
(``control.performance.slowest``) prunes little over all time. :func:`roll_up` (the
``roll_up_function_pairs`` maintenance actor, every few minutes) rewrites the table in one
transaction from every call up to the highest id, which its mark keeps
(``rollup_mark.rolled_id``).

:func:`candidates` names the pairs that can make the all-time list of ``n``: the calls
written since the mark change only their own pairs, so the ``n`` plus as many as those
pairs of highest average in the table, ties included, and those pairs. The list itself
is then ranked from the calls of these pairs alone (docs/operations.md says what a
rewrite can lag behind).
"""

from __future__ import annotations

import datetime as dt

from peewee import fn

from control.clock import utcnow
from control.db.database import connected, locking, write_transaction
from control.performance.models import FunctionLog, FunctionPair
from control.querying import tuples
from control.rollups.hourly import hour_floor, mark
from control.rollups.models import RollupMark

NAME = "function_pair"
# averages summed in another order may differ in their last bits: a pair this close
# below the last one is kept too
SLACK = 1e-9

Pair = tuple[str, str]


def roll_up(now: dt.datetime | None = None) -> int | None:
    """Rewrite the table from every call up to the highest id; move the mark to it.
    Returns that id, None when the log is empty."""
    began = now or utcnow()
    with connected(), write_transaction():
        row = locking(RollupMark.select().where(RollupMark.name == NAME)).first()
        last = FunctionLog.select(fn.MAX(FunctionLog.id)).scalar()
        if last is None:
            return None
        FunctionPair.delete().execute()
        sums = (
            FunctionLog.select(
                FunctionLog.function_name,
                FunctionLog.app,
                fn.COUNT(FunctionLog.id),
                fn.AVG(FunctionLog.runtime_seconds),  # as the list averages
            )
            .where(FunctionLog.id <= last)
            .group_by(FunctionLog.function_name, FunctionLog.app)
        )
        FunctionPair.insert_from(
            sums,
            [
                FunctionPair.function_name,
                FunctionPair.app,
                FunctionPair.calls,
                FunctionPair.avg_runtime,
            ],
        ).execute()
        values = {"rolled_until": hour_floor(began), "updated": began, "rolled_id": last}
        if row is None:
            RollupMark.create(name=NAME, **values)
        else:
            RollupMark.update(**values).where(RollupMark.name == NAME).execute()
    return int(last)


def candidates(n: int) -> list[Pair] | None:
    """The pairs among which the all-time ``n`` slowest are; None before the first
    rewrite."""
    with connected():
        found = mark(NAME)
        if found is None or found.rolled_id is None:
            return None
        since_mark = FunctionLog.select(FunctionLog.function_name, FunctionLog.app).where(
            FunctionLog.id > found.rolled_id
        )
        changed: list[Pair] = list(dict.fromkeys((name, app) for name, app in tuples(since_mark)))
        top = (
            FunctionPair.select(FunctionPair.avg_runtime)
            .order_by(FunctionPair.avg_runtime.desc())
            .offset(n + len(changed) - 1)
            .limit(1)
            .scalar()
        )
        slowest = FunctionPair.select(FunctionPair.function_name, FunctionPair.app)
        if top is not None:  # ties with the last one included, and a hair below
            slowest = slowest.where(FunctionPair.avg_runtime >= top - abs(top) * SLACK)
        kept: list[Pair] = [(name, app) for name, app in tuples(slowest)]
    return list(dict.fromkeys([*kept, *changed]))
