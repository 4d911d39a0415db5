"""The API's worker threads for database calls (web/concurrency.DatabaseThreads) answer
as ``asyncio.to_thread`` does: the call's result or its exception, off the loop's
thread, in the caller's context; a request cancelled meanwhile is not answered."""

from __future__ import annotations

import asyncio
import threading

import pytest

from control.log_context import request_id_var
from web.concurrency import DatabaseThreads


@pytest.fixture
def threads():
    pool = DatabaseThreads(2)
    yield pool
    pool.stop()


def test_a_call_runs_off_the_loop_in_the_callers_context(threads: DatabaseThreads) -> None:
    async def main() -> tuple[str, str, bool]:
        request_id_var.set("req-42")
        loop_thread = threading.get_ident()
        return await threads.run(
            lambda: (
                request_id_var.get(),
                threading.current_thread().name,
                threading.get_ident() != loop_thread,
            )
        )

    request_id, name, elsewhere = asyncio.run(main())
    assert (request_id, elsewhere) == ("req-42", True)
    assert name.startswith("database-")


def test_an_exception_of_the_call_is_raised_in_the_awaiting_request(
    threads: DatabaseThreads,
) -> None:
    def fails() -> None:
        raise LookupError("no such app")

    async def main() -> None:
        await threads.run(fails)

    with pytest.raises(LookupError, match="no such app"):
        asyncio.run(main())


def test_calls_run_side_by_side_up_to_the_threads(threads: DatabaseThreads) -> None:
    both_in = threading.Barrier(2, timeout=5)  # only two threads at once can pass it

    async def main() -> list[int]:
        return list(await asyncio.gather(*(threads.run(lambda: both_in.wait()) for _ in "ab")))

    assert sorted(asyncio.run(main())) == [0, 1]


def test_a_cancelled_request_is_not_answered_and_the_threads_go_on(
    threads: DatabaseThreads,
) -> None:
    release = threading.Event()

    async def main() -> str:
        slow = asyncio.ensure_future(threads.run(lambda: release.wait(5)))
        await asyncio.sleep(0.05)
        slow.cancel()
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await slow
        return await threads.run(lambda: "next")

    assert asyncio.run(main()) == "next"


def test_stop_finishes_the_queued_calls() -> None:
    pool = DatabaseThreads(1)
    done: list[int] = []

    async def main() -> None:
        pool.run(lambda: done.append(1))
        pool.run(lambda: done.append(2))

    asyncio.run(main())
    pool.stop()
    assert done == [1, 2]


def test_calls_one_after_another_go_to_the_same_thread(threads: DatabaseThreads) -> None:
    """A light load keeps one thread busy (its caches warm) rather than waking each
    thread in turn."""

    async def main() -> list[str]:
        await threads.run(lambda: None)
        await asyncio.sleep(0.1)  # the threads have started and gone idle
        return [await threads.run(lambda: threading.current_thread().name) for _ in range(20)]

    names = asyncio.run(main())
    assert len(set(names)) == 1, names


def test_calls_beyond_the_threads_wait_and_all_are_answered() -> None:
    pool = DatabaseThreads(2)
    gate = threading.Event()

    async def main() -> list[int]:
        calls = [pool.run(lambda n=n: gate.wait(5) and n) for n in range(10)]
        await asyncio.sleep(0.05)
        gate.set()
        return list(await asyncio.gather(*calls))

    try:
        assert asyncio.run(main()) == list(range(10))
    finally:
        pool.stop()
