"""What an app gets: function logs, progress and counts, the cancel token, pipeline tasks."""

from __future__ import annotations

import threading
import time

import pytest

from control.agent import Cancelled, CancelToken, current_call, function_log
from control.agent.context import AppContext
from control.agent.functionlog import set_recorder
from control.agent.logwriter import LogBatcher
from control.enums import PipelineStatus
from control.performance.models import FunctionLog
from control.pipelines.models import PipelineTask
from tests import agent_apps
from tests.factories import make_app


@pytest.fixture
def ctx(db) -> AppContext:
    app = make_app()
    return AppContext(
        app_id=app.id,
        runtime_id="20250115_073000_x",
        settings={"items": 3},
        batcher=LogBatcher(publish_events=False),
    )


def _rows() -> list[FunctionLog]:
    return list(FunctionLog.select().order_by(FunctionLog.id))


def test_function_log_as_a_context_manager_counts_what_the_block_counted(ctx):
    with ctx.function_log("fetch_details", task_size=5) as call:
        time.sleep(0.02)
        call.solved += 4
        call.failed += 1
    (row,) = _rows()
    assert (row.app, row.runtime, row.function_name) == (
        ctx.app_id,
        ctx.runtime_id,
        "fetch_details",
    )
    assert (row.task_size, row.solved, row.failed) == (5, 4, 1)
    assert row.runtime_seconds >= 0.02


def test_a_block_that_counts_nothing_is_solved_or_failed_as_a_whole(ctx):
    with ctx.function_log("store", task_size=3):
        pass
    with pytest.raises(KeyError), ctx.function_log("load", task_size=2):
        raise KeyError("x")
    store, load = _rows()
    assert (store.solved, store.failed) == (3, 0)
    assert (load.solved, load.failed) == (0, 2)  # written although the block raised


def test_the_decorator_records_each_call(ctx):
    @ctx.function_log(task_size=len)
    def parse(items):
        return {"solved": len(items) - 1, "failed": 1}

    @ctx.function_log
    def bare():
        return "value"

    assert parse([1, 2, 3]) == {"solved": 2, "failed": 1}
    assert bare() == "value"
    first, second = _rows()
    assert (first.function_name, first.task_size, first.solved, first.failed) == ("parse", 3, 2, 1)
    assert first.module == __name__
    assert (second.function_name, second.task_size) == ("bare", 0)


def test_the_module_level_decorator_follows_the_thread_s_run(ctx):
    assert agent_apps.parse([7, 8]) == {"solved": 1, "failed": 1}  # no run here: a plain call
    assert _rows() == []
    set_recorder(ctx.recorder)
    try:
        agent_apps.parse(list(range(1, 15)))
    finally:
        set_recorder(None)
    (row,) = _rows()
    assert (row.function_name, row.module) == ("parse", "tests.agent_apps")
    assert (row.task_size, row.solved, row.failed) == (14, 12, 2)


def test_current_call_is_the_innermost_block(ctx):
    set_recorder(ctx.recorder)
    try:
        with function_log("outer", task_size=2):
            with function_log("inner", task_size=1):
                current_call().failed += 1
            current_call().solved += 2
    finally:
        set_recorder(None)
    inner, outer = _rows()
    assert (inner.function_name, inner.solved, inner.failed) == ("inner", 0, 1)
    assert (outer.function_name, outer.solved, outer.failed) == ("outer", 2, 0)


def test_inner_calls_go_in_with_the_outermost_one_in_batches(ctx, monkeypatch):
    monkeypatch.setattr("control.agent.functionlog.FLUSH_ROWS", 100)

    @ctx.function_log(task_size=len)
    def parse(items):
        return {"solved": len(items) - 1, "failed": 1}

    with ctx.function_log("crawl", task_size=250) as call:
        for i in range(130):
            parse([i, i])
        assert len(_rows()) == 100  # a full batch went in; the rest wait for the block
        for i in range(120):
            parse([i, i, i])
        call.solved = 250
    rows = _rows()
    assert [r.function_name for r in rows] == ["parse"] * 250 + ["crawl"]
    assert [r.task_size for r in rows] == [2] * 130 + [3] * 120 + [250]
    assert {(r.solved, r.failed) for r in rows[:130]} == {(1, 1)}
    assert (rows[-1].solved, rows[-1].failed) == (250, 0)
    assert {(r.app, r.runtime) for r in rows} == {(ctx.app_id, "20250115_073000_x")}
    assert all(r.started is not None and r.runtime_seconds >= 0 for r in rows)
    assert [r.id for r in rows] == sorted(r.id for r in rows)


def test_muting_writes_the_waiting_rows_and_nothing_after(ctx):
    with ctx.function_log("outer"):
        with ctx.function_log("inner"):
            pass
        assert _rows() == []  # waits for the outer call
        ctx.mute()  # the run is abandoned: what ended is written, what ends later not
        assert [r.function_name for r in _rows()] == ["inner"]
    assert [r.function_name for r in _rows()] == ["inner"]


def test_progress_and_tally_are_kept_in_memory(ctx):
    first = ctx.counts()
    ctx.progress(0, 10)
    ctx.progress(4)
    ctx.tally(solved=3)
    ctx.tally(failed=1)
    counts = ctx.counts()
    assert (counts.current, counts.total, counts.solved, counts.failed) == (4, 10, 3, 1)
    assert counts.version > first.version
    assert counts.records_total == 10
    ctx.apply_result({"total": 12, "solved": 11, "failed": 1})
    assert ctx.counts().records_total == 12
    assert ctx.settings == {"items": 3}


def test_the_cancel_token():
    token = CancelToken()
    assert not token.cancelled
    token.raise_if_cancelled()
    assert token.wait(0.01) is False
    threading.Timer(0.05, token.cancel, args=("operator asked",)).start()
    began = time.monotonic()
    assert token.wait(5) is True  # wakes at once
    assert time.monotonic() - began < 2
    token.cancel("second reason")
    assert token.reason == "operator asked"
    with pytest.raises(Cancelled, match="operator asked"):
        token.raise_if_cancelled()


def test_pipeline_tasks_move_through_the_stages(ctx):
    agent_apps.pipeline(ctx)
    good, bad = PipelineTask.select().order_by(PipelineTask.id)
    assert (good.document_ref, good.stage, good.status) == (
        "good.txt",
        "STORED",
        PipelineStatus.COMPLETED,
    )
    assert list(good.stage_durations) == ["RECEIVED", "OCR", "NER", "VALIDATION", "STORED"]
    assert good.duration_seconds == pytest.approx(sum(good.stage_durations.values()), abs=0.01)
    assert good.started is not None
    assert good.ended >= good.started
    assert good.runtime == ctx.runtime_id
    assert (bad.stage, bad.status, bad.error_stage) == (
        "VALIDATION",
        PipelineStatus.FAILED,
        "VALIDATION",
    )
    assert bad.error == "no VAT id found"
    assert bad.retries == 1
    assert list(bad.stage_durations) == ["RECEIVED", "OCR", "VALIDATION"]


def test_an_exception_in_a_stage_fails_the_task_there(ctx):
    task = ctx.pipeline.receive("court_ruling", "ruling.txt")
    with pytest.raises(ValueError, match="no parties"), task.stage("NER"):
        raise ValueError("no parties found")
    row = PipelineTask.get_by_id(task.id)
    assert (row.status, row.error_stage) == (PipelineStatus.FAILED, "NER")
    assert row.error == "ValueError: no parties found"
