"""The function log table (timed calls of the apps' functions) and its hourly rollup."""

from __future__ import annotations

from peewee import AutoField, BigIntegerField, CharField, DateTimeField, DoubleField, FloatField

from control.clock import utcnow
from control.db.base import BaseModel


class FunctionLog(BaseModel):
    """One timed call of an app function: runtime, task size, solved and failed items."""

    id = AutoField()
    app = CharField(max_length=128, column_name="app_id")
    runtime = CharField(max_length=200, column_name="runtime_id", null=True)
    function_name = CharField(max_length=200)
    module = CharField(max_length=200, default="")
    started = DateTimeField(default=utcnow)
    runtime_seconds = FloatField()
    task_size = BigIntegerField(default=0)
    solved = BigIntegerField(default=0)
    failed = BigIntegerField(default=0)

    class Meta:
        table_name = "function_log"
        indexes = (
            (("app", "started"), False),
            (("function_name", "started"), False),
            (("runtime",), False),
            (("started",), False),
        )


# The slowest pairs (control/performance/slowest.py) read from the indexes alone: the
# longest calls of a window, then the calls of the pairs that can make the list.
FunctionLog.add_index(
    FunctionLog.index(
        FunctionLog.runtime_seconds,
        FunctionLog.started,
        FunctionLog.function_name,
        FunctionLog.app,
        name="function_log_longest",
    )
)
FunctionLog.add_index(
    FunctionLog.index(
        FunctionLog.function_name,
        FunctionLog.app,
        FunctionLog.started,
        FunctionLog.runtime_seconds,
        FunctionLog.task_size,
        name="function_log_pair_figures",
    )
)


class FunctionHour(BaseModel):
    """The function log rolled up per function name and hour (``control.performance.rollup``).

    Sums rather than averages, so that hours add up to days and windows: calls, runtime
    (sum and longest), task size, solved and failed items of the calls started in the hour.
    """

    id = AutoField()
    hour = DateTimeField()  # the start of the hour, naive UTC
    function_name = CharField(max_length=200)
    calls = BigIntegerField()
    runtime_sum = FloatField()
    runtime_max = FloatField()
    task_size = BigIntegerField()
    solved = BigIntegerField()
    failed = BigIntegerField()

    class Meta:
        table_name = "function_hour"
        indexes = ((("hour", "function_name"), True),)


class FunctionPair(BaseModel):
    """Every call of the function log summed per function name and app, up to the id in
    its mark (``control.performance.pairs``): the all-time slowest list's first cut."""

    id = AutoField()
    function_name = CharField(max_length=200)
    app = CharField(max_length=128, column_name="app_id")
    calls = BigIntegerField()
    avg_runtime = DoubleField()  # as exact as the averages it ranks by

    class Meta:
        table_name = "function_pair"
        indexes = (
            (("function_name", "app"), True),
            (("avg_runtime",), False),
        )
