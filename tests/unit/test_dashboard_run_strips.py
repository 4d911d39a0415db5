"""The grid's run strips between polls: fetched again only when they may have changed."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from dashboard.run_strips import MAX_AGE_SECONDS, RunStrips

UTC = ZoneInfo("UTC")


class Client:
    """The one API call the strips make, recorded."""

    def __init__(self) -> None:
        self.asked: list[list[str]] = []

    def recent_runs(self, app_ids: list[str], per_app: int = 10) -> dict[str, list[Any]]:
        self.asked.append(list(app_ids))
        return {a: [{"id": f"run_{a}", "status": "COMPLETED", "started": None}] for a in app_ids}


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


def app(app_id: str, run: str = "r1", status: str = "COMPLETED") -> dict[str, Any]:
    return {"id": app_id, "last_run": {"runtime": run, "status": status, "ended": "x"}}


def test_a_quiet_block_is_fetched_once_then_only_what_changed() -> None:
    client, clock = Client(), Clock()
    strips = RunStrips(clock)
    block = [app("a"), app("b"), app("c")]
    first = strips.for_block(client, block, UTC)  # type: ignore[arg-type]
    assert client.asked == [["a", "b", "c"]]
    assert [c["id"] for c in first["a"]] == ["run_a"]
    assert strips.for_block(client, block, UTC) == first  # type: ignore[arg-type]
    assert len(client.asked) == 1  # the poll made no call for the strips
    # b got a new run (running: fetched on every poll while it runs), c's run ended
    changed = [app("a"), app("b", "r2", "RUNNING"), app("c", "r1", "FAILED")]
    strips.for_block(client, changed, UTC)  # type: ignore[arg-type]
    strips.for_block(client, changed, UTC)  # type: ignore[arg-type]
    assert client.asked[1:] == [["b", "c"], ["b"]]
    # another zone: every strip's times change
    strips.for_block(client, changed, ZoneInfo("Asia/Tokyo"))  # type: ignore[arg-type]
    assert client.asked[-1] == ["a", "b", "c"]


def test_strips_are_fetched_again_after_a_while_anyway() -> None:
    client, clock = Client(), Clock()
    strips = RunStrips(clock)
    strips.for_block(client, [app("a")], UTC)  # type: ignore[arg-type]
    clock.now += MAX_AGE_SECONDS + 1
    strips.for_block(client, [app("a")], UTC)  # type: ignore[arg-type]
    assert client.asked == [["a"], ["a"]]
