"""Schemathesis hooks for tests/integration/test_schemathesis.py (loaded by ``st run``
through ``SCHEMATHESIS_HOOKS``; not a test module).

A page cursor is opaque and signed: the only valid ones are those a list returned in
``meta.next_cursor`` (the document says so, and gives their shape as a pattern). A string
drawn to fit the pattern is not one, so a query generated as valid data gets a real cursor
of the same list instead (harvested by the test before the run, in the JSON file named by
``DC_FUZZ_CURSORS``), or none when the list had no second page. Values generated as
invalid data are left alone: the server must refuse them.

Time windows have rules across parameters, which OpenAPI cannot state for a query string
(the operations' descriptions do): ``from`` before ``to``, ``period`` or ``from``/``to``
but not both, and at most 31 days when bucketed by the hour. A query generated as valid
data is made to follow them (the values are kept, only ordered or narrowed).

``POST /api/v1/system/config`` generated as valid data would lower the rate limits of the
server under test (they apply at once), and the rest of the run would meet 429s instead
of the answers it checks: its rate limits are set to the highest value the schema allows.
Every other setting, and every invalid body, goes through as generated.

The coverage phase tries every value of an enum as valid data: for ``timezone`` (the user
settings) that is every IANA zone, ~600 requests, a fifth of the admin's whole run. Its
valid cases keep a fixed sample of zones (the odd offsets and a hash-picked spread);
invalid values and the fuzzing phase's random zones are all kept.

``ast.parse`` is serialised: with ``--workers 2`` two threads may describe a filtered
strategy at once (hypothesis parses the lambda's source), and CPython 3.11.7's AST
conversion is not thread-safe ("SystemError: AST constructor recursion depth mismatch",
cpython#106905): the run then reports a Runtime Error for an operation that has none.
"""

from __future__ import annotations

import ast
import datetime as dt
import json
import os
import random
import threading
import zlib
from pathlib import Path
from typing import Any

import schemathesis
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.meta import TestPhase

_cursors: dict[str, list[str]] = json.loads(
    Path(os.environ["DC_FUZZ_CURSORS"]).read_text() if "DC_FUZZ_CURSORS" in os.environ else "{}"
)
_pick = random.Random(0)  # the run is seeded: so is the choice of cursor

_parse = ast.parse
_parsing = threading.Lock()


def _parse_alone(*args: Any, **kwargs: Any) -> Any:
    with _parsing:
        return _parse(*args, **kwargs)


ast.parse = _parse_alone  # see the module's docstring


def _valid_query(case: Any) -> bool:
    meta = case.meta
    if meta is None:
        return False
    component = meta.components.get(ParameterLocation.QUERY)
    return component is not None and not component.mode.is_negative


MAX_SPAN = dt.timedelta(days=31)


def _time(value: Any) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _cursor(query: dict[str, Any], path: str) -> None:
    issued = _cursors.get(path, [])
    if issued:
        query["cursor"] = _pick.choice(issued)
    else:
        del query["cursor"]


def _window(query: dict[str, Any]) -> None:
    if "period" in query:
        query.pop("from", None)
        query.pop("to", None)
        return
    since, until = _time(query.get("from")), _time(query.get("to"))
    if since is None:
        return
    if until is None and "to" not in query:
        until = dt.datetime.now(dt.UTC)  # what the server takes for a missing 'to'
    if until is None:
        return
    try:
        if since == until:
            del query["from"]
            return
        if since > until:
            if "to" not in query:
                del query["from"]
                return
            query["from"], query["to"] = query["to"], query["from"]
            since, until = until, since
        if until - since > MAX_SPAN:
            query["from"] = (until - dt.timedelta(days=1)).isoformat()
    except OverflowError:
        del query["from"]


RATE_LIMITS = ("rate_limit_per_minute", "auth_rate_limit_per_minute", "token_rate_limit_per_minute")


def _keep_limits_high(case: Any) -> None:
    changes = case.body.get("changes") if isinstance(case.body, dict) else None
    if not isinstance(changes, dict):
        return
    for name in RATE_LIMITS:
        if isinstance(changes.get(name), int | float) and not isinstance(changes[name], bool):
            changes[name] = 10_000_000


def _valid_body(case: Any) -> bool:
    meta = case.meta
    component = meta.components.get(ParameterLocation.BODY) if meta is not None else None
    return component is not None and not component.mode.is_negative


# whole, half- and three-quarter-hour offsets, +14 h, a southern DST
ZONES = {"UTC", "Europe/Berlin", "America/St_Johns", "Asia/Kathmandu", "Pacific/Chatham"}
ZONES |= {"Pacific/Kiritimati", "Australia/Lord_Howe", "America/Sao_Paulo"}
ZONE_SPREAD = 25  # and about one zone in this many more


def _one_zone_too_many(case: Any) -> bool:
    """A coverage-phase valid body whose time zone is outside the sample."""
    meta = case.meta
    if meta is None or meta.phase.name != TestPhase.COVERAGE or not _valid_body(case):
        return False
    zone = case.body.get("timezone") if isinstance(case.body, dict) else None
    if not isinstance(zone, str) or zone in ZONES:
        return False
    return zlib.crc32(zone.encode()) % ZONE_SPREAD != 0


@schemathesis.hook
def filter_case(context: schemathesis.HookContext, case: Any) -> bool:
    return not _one_zone_too_many(case)


@schemathesis.hook
def map_case(context: schemathesis.HookContext, case: Any) -> Any:
    if case.operation.path == "/api/v1/system/config" and case.method.upper() == "POST":
        if _valid_body(case):
            _keep_limits_high(case)
        return case
    query = case.query
    if not query or not _valid_query(case):
        return case
    if "cursor" in query:
        _cursor(query, case.operation.path)
    if {"from", "to", "period"} & set(query):
        _window(query)
    return case
