"""Reading apps: filtered, sorted pages and the detail view with the last runtime."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from peewee import JOIN, Case, ColumnBase, ModelSelect, fn

from control.apps.models import Apps
from control.apps.run_state import LAST_RUN_STARTED, AppRow, ListedApp, listed, run_state, with_runs
from control.audit.services import redact
from control.clock import utcnow
from control.db import compiled
from control.db.database import locking
from control.enums import FatalFlag, RunStatus
from control.errors import NotFound
from control.health.services import held, held_now, holding, verdicts_of
from control.querying import (
    Page,
    SortKey,
    apply_sort,
    keyset_after,
    keyset_condition,
    keyset_part,
    paginate,
    tuples,
    where_given,
)
from control.runtimes.models import Runtime

SORTABLE = {
    "id": Apps.id,
    "app": Apps.app,
    "group": Apps.group,
    "parent": Apps.parent,
    "run_status": Apps.run_status,
    "fatal_flag": Apps.fatal_flag,
    "next_run": Apps.next_run,
    "disabled": Apps.disabled,
    "last_run": LAST_RUN_STARTED,
    "updated": Apps.updated,
}


@dataclass(frozen=True)
class AppFilter:
    """The list filters; None means 'any'."""

    group: str | None = None
    parent: str | None = None
    run_status: RunStatus | None = None
    fatal_flag: FatalFlag | None = None
    disabled: bool | None = None
    is_service: bool | None = None
    q: str | None = None
    # a health verdict the app holds now, ``unhealthy`` (any) or ``ok`` (none)
    health: str | None = None


def _with_last_runtime() -> ModelSelect[Apps]:
    return Apps.select(Apps, Runtime).join(
        Runtime, JOIN.LEFT_OUTER, on=(Runtime.id == Apps.last_runtime), attr="last"
    )


def _filtered(query: ModelSelect[Apps], f: AppFilter) -> ModelSelect[Apps]:
    exact = {
        Apps.group: f.group,
        Apps.parent: f.parent,
        Apps.run_status: f.run_status,
        Apps.fatal_flag: f.fatal_flag,
        Apps.disabled: f.disabled,
        Apps.is_service: f.is_service,
    }
    query = where_given(query, exact)
    if f.q:
        # contains() escapes LIKE wildcards and is case-insensitive on every dialect
        query = query.where(Apps.id.contains(f.q) | Apps.app.contains(f.q))
    if f.health == "ok":
        query = query.where(Apps.id.not_in(holding(f.health)))
    elif f.health is not None:
        query = query.where(Apps.id.in_(holding(f.health)))
    return query


def _last_run_started() -> ColumnBase:
    """The "Last run" sort key as two scalar subqueries (the current run's start, else
    the last finished run's) instead of joins: each is one primary-key lookup per app,
    where joining every app to its runs made PostgreSQL hash the whole runtime table
    (1,000,000 runs: 0.5-2 s a page; bench/fleet_scale.py)."""
    current, last = Runtime.alias("current_started"), Runtime.alias("last_started")
    return fn.COALESCE(
        current.select(current.started).where(current.id == Apps.current_runtime),
        last.select(last.started).where(last.id == Apps.last_runtime),
    )


# the sort keys whose values a list row (ListedApp) holds under the same name
LISTED_KEYS = frozenset(SORTABLE) - {"last_run", "updated"}


def _listed() -> ModelSelect[Apps]:
    """What a list item reads (:func:`control.apps.run_state.listed`) and, last, the
    health verdicts the app holds now: a page and its verdicts in one statement."""
    return listed().select_extend(held_now(Apps.id).alias("health_now"))


def _read(rows: Iterable[tuple[Any, ...]], health: dict[str, list[str]]) -> list[ListedApp]:
    """The list rows of :func:`_listed` tuples; each app's verdicts into ``health``."""
    found = []
    for row in rows:
        app = ListedApp.of(row[:-1])
        health[app.id] = held(row[-1])
        found.append(app)
    return found


def _order(sort: list[SortKey]) -> list[SortKey]:
    """``sort`` with the id last to break ties, as :func:`control.querying.apply_sort`
    orders the page: the keyset order. (Each name is also the attribute of ``Apps``
    that holds the value, but for "Last run".)"""
    return [*sort, *([] if any(k.name == "id" for k in sort) else [SortKey("id")])]


def _key_name(key: SortKey) -> str:
    # the attribute a sort key's value is read into: the id's own, else an alias (a
    # column's own name would be hydrated as the model's field; "Last run" has none)
    return "id" if key.name == "id" else f"key_{key.name}"


def _ordered(query: ModelSelect[Apps], order: list[tuple[ColumnBase, bool]]) -> ModelSelect[Apps]:
    return query.order_by(*(column.desc() if desc else column.asc() for column, desc in order))


def _sorted_page(
    f: AppFilter,
    sort: list[SortKey],
    page: int,
    per_page: int,
    after: Sequence[Any] | None,
    health: dict[str, list[str]],
) -> Page:
    """The page's apps, each with its runs joined, in the order of ``sort``, and the
    key of its last row when more rows follow (``next_key``, None on the last page);
    their current health verdicts into ``health``.

    Page ``page`` by offset, or with ``after`` the rows after that key (a keyset page:
    as fast deep in the list as at its start; ``page`` only numbers it).

    A page sorted by the list's own columns is one statement (an offset page's SQL is
    rendered once, and carries the count: ``compiled.counted_tuple_rows``). A page
    sorted by "Last run" (keyed by subqueries, :func:`_last_run_started`) or "Updated"
    chooses the page's ids (and sort keys) from ``apps`` alone first, then reads only
    those apps with their runs.
    """
    by_last_run = any(k.name == "last_run" for k in sort)
    columns = SORTABLE | ({"last_run": _last_run_started()} if by_last_run else {})
    keys = _order(sort)
    order = [(columns[k.name], k.descending) for k in keys]
    # The apps list's everyday request (bench/apps_list.py): the ids first would add a
    # round trip and a statement rendered each time (3.4x raw SQL instead of 2.8x).
    # A keyset page so sorted is one statement too, the count included (a deep page as
    # fast as the first: bench/fleet_scale.py).
    if all(k.name in LISTED_KEYS for k in keys):
        listing = ("apps.list", f, tuple(sort))

        def build() -> ModelSelect[Apps]:
            return apply_sort(_filtered(_listed(), f), sort, columns, Apps.id)

        if after is None:
            result = paginate(build, page, per_page, key=listing, as_tuples=True)
            rows: list[Any] = _read(result.rows, health)
            total, more = result.total, page * per_page < result.total
        else:
            # rendered once per shape of key (which values are NULL), spliced after; the
            # count of the whole list in the same statement, as on an offset page
            shape = (*listing, per_page, tuple(value is None for value in after))
            part = keyset_part(shape, order, after)

            def following() -> ModelSelect[Apps]:
                beyond = keyset_condition(order, after)
                return _ordered(_filtered(_listed(), f).where(beyond), order).limit(per_page + 1)

            read = compiled.spliced_tuple_rows(shape, compiled.with_count(following, build), part)
            page_rows, total = compiled.split_count(read, lambda: compiled.count(listing, build))
            rows = _read(page_rows, health)
            more, rows = len(rows) > per_page, rows[:per_page]
        key = tuple(getattr(rows[-1], k.name) for k in keys) if more and rows else None
        return Page(rows, page, per_page, total, key)
    keyed = (columns[k.name].alias(_key_name(k)) for k in keys if k.name != "id")
    query = _filtered(Apps.select(Apps.id, *keyed), f)
    cache = None if by_last_run else ("apps.ids", f, tuple(sort))
    if after is None:
        found_ids = paginate(apply_sort(query, sort, columns, Apps.id), page, per_page, key=cache)
        rows, total, more = found_ids.rows, found_ids.total, page * per_page < found_ids.total
    else:
        total = compiled.count(cache, query) if cache else query.order_by().count()
        rows = list(_ordered(keyset_after(query, order, after), order).limit(per_page + 1))
        more, rows = len(rows) > per_page, rows[:per_page]
    key = tuple(getattr(rows[-1], _key_name(k)) for k in keys) if more and rows else None
    wanted = [a.id for a in rows]
    found = (
        {a.id: a for a in _read(tuples(_listed().where(Apps.id.in_(wanted))), health)}
        if wanted
        else {}
    )
    rows = [found[i] for i in wanted if i in found]
    return Page(rows, page, per_page, total, key)


def list_apps(
    f: AppFilter,
    sort: list[SortKey],
    page: int,
    per_page: int,
    after: Sequence[Any] | None = None,
) -> Page:
    """One page of apps matching ``f``, each with its last runtime joined, and (as
    ``next_key``) the key to pass as ``after`` for the next page: see
    :func:`_sorted_page`."""
    health: dict[str, list[str]] = {}
    result = _sorted_page(f, sort, page, per_page, after, health)
    now = utcnow()
    rows = [summary(a, now) | {"health": health.get(a.id, [])} for a in result.rows]
    return Page(rows, result.page, result.per_page, result.total, result.next_key)


def _count_where(condition: Any) -> Any:
    return fn.SUM(Case(None, [(condition, 1)], 0))


def group_counts() -> list[dict[str, Any]]:
    """Every group, by name, with how many apps it has and how many of them are running,
    fatal or disabled: one GROUP BY."""
    rows = tuples(
        Apps.select(
            Apps.group,
            fn.COUNT(Apps.id).alias("apps"),
            _count_where(Apps.run_status == RunStatus.RUNNING).alias("running"),
            _count_where(Apps.fatal_flag != FatalFlag.NO_FATAL).alias("fatal"),
            _count_where(Apps.disabled == True).alias("disabled"),  # noqa: E712
        )
        .group_by(Apps.group)
        .order_by(Apps.group)
    )
    return [
        {"group": group, "apps": int(n), "running": int(r), "fatal": int(f), "disabled": int(d)}
        for group, n, r, f, d in rows
    ]


def locked_app(app_id: str) -> Apps:
    """The app's row, locked for the rest of the transaction; NotFound when missing."""
    app: Apps | None = locking(Apps.select().where(Apps.id == app_id)).first()
    if app is None:
        raise NotFound(f"No app with id {app_id!r}.")
    return app


def get_app(app_id: str, *, reveal_secrets: bool = False) -> dict[str, Any]:
    """The detail view of one app, or NotFound. Secret-looking keys of its settings are
    redacted (the audit log's rule) unless ``reveal_secrets``."""
    app = with_runs().where(Apps.id == app_id).first()
    if app is None:
        raise NotFound(f"No app with id {app_id!r}.")
    shown = detail(app) | {"health": verdicts_of([app.id]).get(app.id, [])}
    if not reveal_secrets:
        shown["settings"] = redact(shown["settings"], clip=False)
    return shown


def summary(app: AppRow, now: dt.datetime | None = None) -> dict[str, Any]:
    """The list item of an app (a model read through ``run_state.with_runs``, or a list
    row): last run, progress
    and ETA come from :func:`control.apps.run_state.run_state`, as in the detail."""
    return {
        "id": app.id,
        "app": app.app,
        "group": app.group,
        "parent": app.parent,
        "run_status": app.run_status,
        "command_flag": app.command_flag,
        "fatal_flag": app.fatal_flag,
        "disabled": app.disabled,
        "is_service": app.is_service,
        "schedule": app.schedule,
        "timezone": app.timezone,
        "next_run": app.next_run,
        **run_state(app, now),
    }


def detail(app: Apps, now: dt.datetime | None = None) -> dict[str, Any]:
    """The detail view of an app: the summary (with progress and ETA), every
    configuration field."""
    return summary(app, now) | {
        "description": app.description,
        "settings": app.settings,
        "fatal_reason": app.fatal_reason,
        "consecutive_failures": app.consecutive_failures,
        "current_runtime": app.current_runtime,
        "command_updated": app.command_updated,
        "version": app.version,
        "created": app.created,
        "updated": app.updated,
    }
