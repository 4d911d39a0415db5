"""Statements rendered once (control/db/compiled.py) answer exactly as peewee's own
execution does, and always from the current data: the SQL is kept, never the rows."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import Enum

from peewee import Database

from control.apps import services
from control.apps.models import Apps
from control.apps.run_state import with_runs
from control.db import compiled
from control.querying import parse_sort
from tests.factories import make_app, make_runtime


def list_query(group: str):
    sort = parse_sort("-next_run", list(services.SORTABLE))
    filtered = with_runs().where(Apps.group == group)
    return services.apply_sort(filtered, sort, services.SORTABLE, tiebreak=Apps.id)


def make_group(group: str, count: int) -> None:
    """``count`` apps of ``group`` (``<group>_<n>``), every other one with a last run,
    and an app of another group."""
    for n in range(count):
        app = make_app(id=f"{group}_{n}", group=group)
        if n % 2:
            app.last_runtime = make_runtime(app).id
            app.save()
    make_app(id=f"not_{group}", group="other")


def test_rows_and_count_match_peewee_and_follow_the_data(db: Database) -> None:
    key = ("test.list", uuid.uuid4().hex)  # a fresh key: nothing kept from another test
    make_group("compiled", 5)

    query = list_query("compiled")
    assert compiled.count(key, query) == query.count() == 5
    page = compiled.rows((key, 1, 3), query.paginate(1, 3))
    expected = list(list_query("compiled").paginate(1, 3))
    assert [a.id for a in page] == [a.id for a in expected]
    # the joined last run, as peewee attaches it (None where there is none)
    assert [getattr(a.last, "id", None) for a in page] == [
        getattr(a.last, "id", None) for a in expected
    ]
    assert any(getattr(a.last, "id", None) for a in page)

    make_app(id="compiled_new", group="compiled")
    # the same key again: the kept SQL, run on the data as it is now
    assert compiled.count(key, list_query("compiled")) == 6
    again = compiled.rows((key, 2, 3), list_query("compiled").paginate(2, 3))
    assert [a.id for a in again] == [a.id for a in list_query("compiled").paginate(2, 3)]


def test_a_counted_page_is_the_page_and_the_count_peewee_gives(db: Database) -> None:
    """One statement (the count as a subquery of the page's SELECT) answers what the
    page's own SELECT and peewee's ``count()`` do: on every page, past the last one
    (no row carries the count there) and for a filter that matches nothing."""
    key = ("test.counted", uuid.uuid4().hex)
    make_group("counted", 7)

    def expected(page: int) -> list[tuple[object, ...]]:
        return list(list_query("counted").paginate(page, 3).tuples())

    for page in (1, 2, 3, 4):
        rows, total = compiled.counted_tuple_rows(key, lambda: list_query("counted"), page, 3)
        assert (rows, total) == (expected(page), 7)
    assert [
        len(compiled.counted_tuple_rows(key, list_query("counted"), p, 3)[0]) for p in (1, 3)
    ] == [3, 1]

    make_app(id="counted_late", group="counted")  # the kept SQL counts the rows of now
    assert compiled.counted_tuple_rows(key, list_query("counted"), 3, 3) == (expected(3), 8)
    nothing = ("test.counted", uuid.uuid4().hex)
    assert compiled.counted_tuple_rows(nothing, list_query("no such group"), 1, 3) == ([], 0)


def test_tuple_rows_keyed_by_their_arguments(db: Database) -> None:
    for n in range(3):
        make_app(id=f"tuple_{n}", group=f"g{n}")

    def ids_of(group: str) -> list[tuple[str, str]]:
        query = Apps.select(Apps.id, Apps.group).where(Apps.group == group)
        return compiled.tuple_rows(("test.tuples", group), query)

    assert ids_of("g0") == [("tuple_0", "g0")]
    assert ids_of("g1") == [("tuple_1", "g1")]
    assert ids_of("g0") == [("tuple_0", "g0")]


def test_the_app_list_reads_the_same_through_kept_statements(db: Database) -> None:
    for n in range(4):
        make_app(id=f"listed_{n}", group="listed")
    sort = parse_sort("-next_run", list(services.SORTABLE))
    listed = services.AppFilter(group="listed")
    first = services.list_apps(listed, sort, 1, 3)
    make_app(id="listed_late", group="listed")
    second = services.list_apps(listed, sort, 1, 3)
    assert (first.total, second.total) == (4, 5)
    assert [r["id"] for r in second.rows] == [a.id for a in list_query("listed").paginate(1, 3)]


def test_tuple_rows_convert_every_time_as_peewee_does(db: Database) -> None:
    """The kept converters (enums, datetimes, booleans) give what ``.tuples()`` gives,
    on the first call, which has peewee resolve them, and on every call after."""
    key = ("test.converted", uuid.uuid4().hex)
    app = make_app(id="converted_0", group="converted")
    app.last_runtime = make_runtime(app).id
    app.save()
    make_app(id="converted_1", group="converted")

    expected = list(list_query("converted").tuples())
    assert any(isinstance(value, Enum) for value in expected[0])
    for _ in range(3):
        rows = compiled.tuple_rows(key, list_query("converted"))
        assert rows == expected
        assert [[type(v) for v in row] for row in rows] == [[type(v) for v in e] for e in expected]


def test_a_query_given_by_its_builder_is_built_only_while_not_kept(db: Database) -> None:
    key = ("test.lazy", uuid.uuid4().hex)
    make_app(id="lazy_0", group="lazy")
    built: list[int] = []

    def build():
        built.append(1)
        return list_query("lazy")

    first = (compiled.count(key, build), compiled.tuple_rows(key, build))
    assert built  # rendered, and the converters resolved, from the built query
    built.clear()
    make_app(id="lazy_1", group="lazy")
    again = (compiled.count(key, build), compiled.tuple_rows(key, build))
    assert not built
    assert (first[0], again[0]) == (1, 2)
    assert [row[0] for row in again[1]] == [row[0] for row in list_query("lazy").tuples()]


def test_a_spliced_statement_answers_each_part_as_peewee_does(db: Database) -> None:
    """A keyset page's statement is rendered once per shape; every later key's values
    are spliced in, and the rows are those peewee's own execution gives."""
    from control.querying import keyset_condition

    for n in range(6):
        make_app(id=f"spliced_{n}", group="spliced")
    order = [(Apps.group, False), (Apps.id, False)]
    key = ("test.spliced", uuid.uuid4().hex)
    builds = 0

    def page_after(after: tuple[str, str]) -> list[tuple]:
        nonlocal builds
        beyond = keyset_condition(order, after)

        def build():
            nonlocal builds
            builds += 1
            return Apps.select(Apps.id).where(beyond).order_by(Apps.group, Apps.id).limit(2)

        got = compiled.spliced_tuple_rows(key, build, compiled.rendered(beyond))
        expected = list(
            Apps.select(Apps.id).where(beyond).order_by(Apps.group, Apps.id).limit(2).tuples()
        )
        assert got == expected
        return got

    assert page_after(("spliced", "spliced_0")) == [("spliced_1",), ("spliced_2",)]
    rendered = builds
    assert page_after(("spliced", "spliced_2")) == [("spliced_3",), ("spliced_4",)]
    assert page_after(("spliced", "spliced_4")) == [("spliced_5",)]
    # the later pages built the query only to be compared with here, never to render it
    assert builds == rendered


def test_keyed_keyset_pages_read_what_unkeyed_ones_do(db: Database) -> None:
    """Every page of a list walked by keyset with a key (first page kept, later pages
    spliced) is the page peewee gives without one, NULL sort keys included."""
    from control.querying import keyset_page

    soon = dt.datetime(2026, 1, 1, 12)
    for n in range(7):
        make_app(id=f"walk_{n}", group="walk", next_run=None if n % 3 else soon)
    order = [(Apps.next_run, True), (Apps.id, True)]
    key = ("test.walk", uuid.uuid4().hex)

    def walk(with_key: bool) -> list[list[str]]:
        pages, after = [], None
        while True:
            query = Apps.select().where(Apps.group == "walk")
            rows, after = keyset_page(query, order, after, 2, key=key if with_key else None)
            pages.append([a.id for a in rows])
            if after is None:
                return pages

    keyed = walk(True)
    assert keyed == walk(False)
    assert sum(len(p) for p in keyed) == 7
    assert len(keyed) == 4
    assert walk(True) == keyed  # again, every statement now kept


def test_a_keyset_part_from_its_recipe_is_what_peewee_renders(db: Database) -> None:
    """After the first rendering per shape, the condition's parameters are computed
    from which key value each one is, converted as peewee converts them."""
    from control.enums import RunStatus
    from control.querying import keyset_condition, keyset_part

    order = [(Apps.run_status, False), (Apps.next_run, True), (Apps.id, False)]
    shape = ("test.recipe", uuid.uuid4().hex)
    keys = [
        (RunStatus.RUNNING, dt.datetime(2026, 3, 1, 8, 30), "a"),
        (RunStatus.SCHEDULED, dt.datetime(2025, 1, 2, 3, 4, 5, 600), "b_2"),
        (RunStatus.IDLE, dt.datetime(2026, 12, 31, 23, 59), "zz"),
    ]
    for after in keys:
        expected = compiled.rendered(keyset_condition(order, after))
        assert keyset_part(shape, order, after) == expected
    # and they were computed, not rendered: the shape has its recipe
    from control import querying
    from control.db.database import database

    assert querying._recipes[(database.obj, shape)] is not None
