"""The hourly rollups of the audit log: rows per hour, action and outcome
(``audit_action_hour``) and per hour and actor (``audit_actor_hour``).

The activity figures of a week (``GET /activity/stats``) would otherwise count every
audit row of it three times over (by action, by outcome, by actor). :func:`roll_up` (the
``roll_up_audit`` maintenance actor, every few minutes) rewrites both tables' hours from
``LOOKBACK`` before its mark up to the current hour, in one transaction, and moves the
mark. Audit rows are written once, at the time they carry, so a rolled hour stays right.

:func:`by_action` and :func:`top_actors` read the rollup for the whole hours before the
mark and the audit rows for the rest, so an answer is always complete and exact
(docs/operations.md).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from peewee import Select, fn

from control.audit.models import AuditActionHour, AuditActorHour, AuditLog
from control.db.database import connected
from control.querying import tuples
from control.rollups import hourly

NAME = "audit_hour"
LOOKBACK = dt.timedelta(hours=24)


def _oldest() -> dt.datetime | None:
    oldest: dt.datetime | None = AuditLog.select(fn.MIN(AuditLog.at)).scalar()
    return oldest


def _rewrite(since: dt.datetime, until: dt.datetime, _before: dt.datetime | None) -> None:
    hour = hourly.hour_of(AuditLog.at)
    rows = fn.COUNT(AuditLog.id)
    in_window = (AuditLog.at >= since) & (AuditLog.at < until)
    for table, keys in (
        (AuditActionHour, (AuditLog.action, AuditLog.outcome)),
        (AuditActorHour, (AuditLog.actor,)),
    ):
        table.delete().where(table.hour >= since, table.hour < until).execute()
        sums = AuditLog.select(hour, *keys, rows).where(in_window).group_by(hour, *keys)
        columns = [table.hour, *(getattr(table, key.name) for key in keys), table.rows]
        table.insert_from(sums, columns).execute()


def roll_up(now: dt.datetime | None = None) -> hourly.Range | None:
    """Rewrite the rollups' hours from ``LOOKBACK`` before the mark up to the hour of
    ``now``; move the mark there (:func:`hourly.roll_up`)."""
    return hourly.roll_up(NAME, _rewrite, _oldest, LOOKBACK, now)


def _pieces(since: dt.datetime, raw_keys: tuple[Any, ...], table: Any) -> list[Any]:
    """The queries whose rows, ``(*keys, count)``, add up to the audit rows since
    ``since``: the rollup ``table`` for the whole hours before the mark, the raw rows for
    the rest."""
    ranges = hourly.split(hourly.rolled_until(NAME), since, None)
    queries = []
    if ranges.raw:
        queries.append(
            AuditLog.select(*raw_keys, fn.COUNT(AuditLog.id).alias("n"))
            .where(hourly.in_ranges(AuditLog.at, ranges.raw))
            .group_by(*raw_keys)
        )
    if ranges.rolled:
        keys = tuple(getattr(table, key.name) for key in raw_keys)
        queries.append(
            table.select(*keys, fn.SUM(table.rows).alias("n"))
            .where(hourly.in_ranges(table.hour, ranges.rolled))
            .group_by(*keys)
        )
    return queries


def by_action(since: dt.datetime) -> dict[tuple[str, str], int]:
    """``{(action, outcome): rows}`` of the audit rows since ``since``."""
    found: dict[tuple[str, str], int] = {}
    with connected():
        for query in _pieces(since, (AuditLog.action, AuditLog.outcome), AuditActionHour):
            for action, outcome, n in tuples(query):
                found[(action, outcome)] = found.get((action, outcome), 0) + int(n)
    return found


def top_actors(since: dt.datetime, limit: int) -> list[tuple[str, int]]:
    """The ``limit`` actors with the most audit rows since ``since``: most rows first,
    then by name (in SQL, so in the database's collation)."""
    queries = _pieces(since, (AuditLog.actor,), AuditActorHour)
    both = queries[0]
    for query in queries[1:]:
        both = both.union_all(query)
    counted = both.alias("counted")
    n = fn.SUM(counted.c.n)
    top = (
        Select(from_list=[counted], columns=[counted.c.actor, n])
        .group_by(counted.c.actor)
        .order_by(n.desc(), counted.c.actor.asc())
        .limit(limit)
        .bind(AuditLog._meta.database)
    )
    with connected():
        return [(actor, int(count)) for actor, count in tuples(top)]
