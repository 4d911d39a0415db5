"""The pieces of the WebSocket fan-out without a socket: filters, outbox, hub, messages."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from control.events import Event, EventType
from control.events.memory import MemoryBus
from web.ws.filters import DASHBOARD_TYPES, LOG_TYPES, Filter, level_of
from web.ws.hub import Client, Hub, Outbox
from web.ws.protocol import Auth, BadMessage, Ping, Subscribe, parse, parse_query


def log_entry(app: str, level: object) -> Event:
    return Event.of(EventType.LOG_ENTRY, {"app": app, "level": level, "message": "m"})


# -- filters -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "app", "expected"),
    [
        ("scraper_*", "scraper_company_registry", True),
        ("scraper_*", "scraper_", True),
        ("scraper_*", "etl_scraper_x", False),
        ("scraper_?", "scraper_a", True),
        ("scraper_?", "scraper_ab", False),
        ("scraper_[ab]", "scraper_a", False),  # only * and ? are special, as in the log query
        ("scraper_[ab]", "scraper_[ab]", True),
        ("Scraper_*", "scraper_x", False),  # case-sensitive
        ("scraper.x", "scraperXx", False),
        ("*", "anything", True),
    ],
)
def test_app_glob(pattern: str, app: str, expected: bool) -> None:
    assert Filter(LOG_TYPES, app=pattern).matches(log_entry(app, "ERROR")) is expected


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        ("WARNING", True),
        ("warning", True),
        ("ERROR", True),
        (40, True),
        ("40", True),
        ("INFO", False),
        (20, False),
        (35, True),
        (None, False),
        ("LOUD", False),
        (True, False),
    ],
)
def test_minimum_level(level: object, expected: bool) -> None:
    assert Filter(LOG_TYPES, level=30).matches(log_entry("a", level)) is expected


def test_level_no_wins_over_the_name() -> None:
    assert level_of({"level": "DEBUG", "level_no": 40}) == 40


def test_types_and_events_without_an_app() -> None:
    dashboard = Filter(DASHBOARD_TYPES, app="scraper_*")
    metric = Event.of(EventType.SYSTEM_METRIC, {"cpu_percent": 3})
    assert dashboard.matches(metric)  # not about an app: the glob does not apply
    assert not dashboard.matches(log_entry("scraper_a", "ERROR"))  # not a dashboard type
    other = Event.of(EventType.APP_FATAL, {"app": "etl_a"})
    assert not dashboard.matches(other)


# -- outbox --------------------------------------------------------------------------------


def test_outbox_drops_the_oldest_and_reports_once() -> None:
    # a client that does not read: each frame arrives well after the grace period
    ticks = iter(range(0, 100, 2))

    async def main() -> list[str]:
        box = Outbox(limit=3, grace=1.0, clock=lambda: float(next(ticks)))
        for n in range(10):
            box.put(f"f{n}")
        box.finish()
        out = []
        while (item := await box.get()) is not None:
            out.append(item)
        return out

    out = asyncio.run(main())
    assert orjson.loads(out[0])["type"] == "dropped"
    assert orjson.loads(out[0])["data"] == {"count": 7}
    assert out[1:] == ["f7", "f8", "f9"]


def test_outbox_keeps_a_burst_a_client_drains_promptly() -> None:
    # the loop hands a whole batch to the outbox before the writer runs: no loss for that
    now = [0.0]

    async def main() -> tuple[list[str], int]:
        box = Outbox(limit=3, grace=1.0, clock=lambda: now[0])
        for n in range(12):  # four times the limit, all at once
            box.put(f"f{n}")
        kept = [await box.get() for _ in range(12)]
        return [k for k in kept if k is not None], box.dropped

    kept, dropped = asyncio.run(main())
    assert kept == [f"f{n}" for n in range(12)]
    assert dropped == 0


def test_outbox_is_bounded_by_its_ceiling_even_within_the_grace() -> None:
    async def main() -> list[str]:
        box = Outbox(limit=3, grace=1.0, clock=lambda: 0.0)
        for n in range(13):  # past four times the limit
            box.put(f"f{n}")
        box.finish()
        return [item async for item in _drain(box)]

    out = asyncio.run(main())
    assert orjson.loads(out[0])["data"] == {"count": 10}
    assert out[1:] == ["f10", "f11", "f12"]


def test_outbox_insert_at_a_mark() -> None:
    async def main() -> list[str]:
        box = Outbox(limit=10)
        box.put("before")
        mark = box.mark()
        box.put("subscribed")
        box.put("live")
        box.insert_at(mark + 1, "backfill")
        box.finish()
        return [item async for item in _drain(box)]

    assert asyncio.run(main()) == ["before", "subscribed", "backfill", "live"]


async def _drain(box: Outbox):
    while (item := await box.get()) is not None:
        yield item


# -- hub -----------------------------------------------------------------------------------


def test_hub_fans_out_by_filter_and_serialises_once() -> None:
    async def main() -> tuple[list[str], list[str], list[str]]:
        bus = MemoryBus()
        hub = Hub(bus, per_user=2, per_ip=2)
        await hub.process_startup({}, {})
        errors = Client(Outbox(10), Filter(LOG_TYPES, level=40))
        everything = Client(Outbox(10), Filter(LOG_TYPES))
        idle = Client(Outbox(10), None)
        for client in (errors, everything, idle):
            hub.add(client)
        bus.publish(log_entry("a", "INFO"))
        bus.publish(log_entry("a", "ERROR"))
        await asyncio.sleep(0.05)
        await hub.process_shutdown({}, {})
        got = []
        for client in (errors, everything, idle):
            client.outbox.finish()
            got.append([item async for item in _drain(client.outbox)])
        return got[0], got[1], got[2]

    errors, everything, idle = asyncio.run(main())
    assert [orjson.loads(f)["data"]["level"] for f in errors] == ["ERROR"]
    assert [orjson.loads(f)["data"]["level"] for f in everything] == ["INFO", "ERROR"]
    assert idle == []


def test_hub_limits() -> None:
    hub = Hub(MemoryBus(), per_user=2, per_ip=3)
    assert hub.reserve_user("u")
    assert hub.reserve_user("u")
    assert not hub.reserve_user("u")
    assert hub.reserve_user("v")
    hub.release_user("u")
    assert hub.reserve_user("u")
    assert all(hub.reserve_ip("1.2.3.4") for _ in range(3))
    assert not hub.reserve_ip("1.2.3.4")
    hub.release_ip("1.2.3.4")
    assert hub.reserve_ip("1.2.3.4")


# -- client messages -----------------------------------------------------------------------


def test_valid_messages() -> None:
    assert parse('{"type": "auth", "token": "t"}') == Auth(type="auth", token="t")
    assert parse('{"type": "auth", "api_key": "k"}').api_key == "k"
    sub = parse('{"type": "subscribe", "app": "scraper_*", "level": "warning", "backfill": 5}')
    assert sub == Subscribe(type="subscribe", app="scraper_*", level=30, backfill=5)
    assert parse('{"type": "ping", "id": "x1"}') == Ping(type="ping", id="x1")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "nope",
        "[]",
        '"auth"',
        '{"type": 1}',
        '{"type": "hello"}',
        '{"type": "auth"}',
        '{"type": "auth", "token": "t", "api_key": "k"}',
        '{"type": "auth", "token": ""}',
        '{"type": "subscribe", "level": "LOUD"}',
        '{"type": "subscribe", "level": true}',
        '{"type": "subscribe", "backfill": 501}',
        '{"type": "subscribe", "backfill": -1}',
        '{"type": "subscribe", "app": "a b"}',
        '{"type": "subscribe", "app": "' + "a" * 129 + '"}',
        '{"type": "subscribe", "types": ["app.nope"]}',
        '{"type": "subscribe", "types": []}',
        '{"type": "ping", "extra": 1}',
        '{"type": "ping", "id": "' + "x" * 65 + '"}',
        '{"type": "ping", "pad": "' + "x" * 20_000 + '"}',
    ],
)
def test_invalid_messages(text: str) -> None:
    with pytest.raises(BadMessage):
        parse(text)


def test_query_filters() -> None:
    assert parse_query({"app": "scraper_*", "level": "WARNING"}) == Subscribe(
        type="subscribe", app="scraper_*", level=30
    )
    assert parse_query({"backfill": "20"}).backfill == 20
    with pytest.raises(BadMessage, match="level"):
        parse_query({"level": "LOUD"})
