"""Small apps for the agent's tests, registered by name (``DC_AGENT_APPS`` or a Registry).

Each reads its numbers from the app's settings so a test can make it short or long.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from control.agent import AppContext, function_log


@function_log(task_size=len)
def parse(items: list[int]) -> dict[str, int]:
    """A decorated module function: recorded as a FunctionLog row of the current run."""
    return {"solved": sum(1 for i in items if i % 7), "failed": sum(1 for i in items if not i % 7)}


def quick(ctx: AppContext) -> None:
    """A few items with logs, function logs, progress and counts."""
    items = int(ctx.settings.get("items", 5))
    ctx.log.info("quick run over %s items", items)
    ctx.progress(0, items)
    with ctx.function_log("fetch", task_size=items) as call:
        for done in range(1, items + 1):
            ctx.cancel.raise_if_cancelled()
            call.solved += 1
            ctx.tally(solved=1)
            ctx.progress(done)
    parse(list(range(1, items + 1)))
    ctx.log.warning("quick run done")


def long(ctx: AppContext) -> None:
    """Many slow items: progress moves for ``items * delay`` seconds; stops on cancel."""
    items = int(ctx.settings.get("items", 200))
    delay = float(ctx.settings.get("delay", 0.1))
    ctx.progress(0, items)
    ctx.log.info("long run over %s items", items)
    with ctx.function_log("crawl", task_size=items) as call:
        for done in range(1, items + 1):
            if ctx.sleep(delay):
                ctx.log.info("cancelled after %s items", done - 1)
                ctx.cancel.raise_if_cancelled()
            call.solved += 1
            ctx.tally(solved=1)
            ctx.progress(done)


def failing(ctx: AppContext) -> None:
    """Always fails."""
    ctx.log.info("about to fail")
    raise RuntimeError("source is down")


def stubborn(ctx: AppContext) -> None:
    """Ignores the cancel token: only the forced stop after the grace period ends it."""
    deadline = time.monotonic() + float(ctx.settings.get("seconds", 60))
    while time.monotonic() < deadline:
        time.sleep(0.01)


def pipeline(ctx: AppContext) -> None:
    """One document through every stage, one that fails validation."""
    good = ctx.pipeline.receive("invoice", "good.txt")
    for stage in ("OCR", "NER", "VALIDATION"):
        with good.stage(stage):
            pass
    good.complete()
    bad = ctx.pipeline.receive("invoice", "bad.txt")
    with bad.stage("OCR"):
        pass
    bad.retry("OCR service timeout")
    bad.advance("OCR")
    with bad.stage("VALIDATION"):
        pass
    bad.fail("no VAT id found")


def service(ctx: AppContext) -> None:
    """Loops until stopped."""
    handled = 0
    while not ctx.sleep(0.05):
        handled += 1
        ctx.progress(handled)


APPS = {
    "test.quick": quick,
    "test.long": long,
    "test.failing": failing,
    "test.stubborn": stubborn,
    "test.pipeline": pipeline,
    "test.service": service,
}
AGENT_APPS = ",".join(f"{name}=tests.agent_apps:{func.__name__}" for name, func in APPS.items())


def wait_for(check: Callable[[], Any], timeout: float = 10.0, every: float = 0.05) -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {check.__name__}")
        time.sleep(every)
