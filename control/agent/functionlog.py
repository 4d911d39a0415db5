"""``function_log``: time a function (or a block) of an app and record a ``FunctionLog`` row.

As a context manager, count the items as you go::

    with ctx.function_log("fetch_details", task_size=len(urls)) as call:
        for url in urls:
            ...
            call.solved += 1          # or call.failed += 1

As a decorator, on a function of the app's module (``@function_log`` works outside an
``AppContext`` too: it finds the run of the calling thread, and is a plain call when there
is none)::

    @function_log(task_size=len)        # task size from the first argument
    def parse_documents(documents): ...

A call (or block) that counted nothing itself (``call.solved``/``call.failed``, or
``current_call()`` inside a decorated function) counts as ``task_size`` solved when it
ends normally and as ``task_size`` failed when it raises; a decorated function may also
return a mapping with ``solved``/``failed``. The row is written when the call ends, also
when it raises (the exception propagates). Rows of calls nested in another call wait
for the outermost one and go in with it in one batch (see :class:`Recorder`).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

from control.agent.bulk_insert import insert_rows
from control.clock import utcnow
from control.performance.models import FunctionLog

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])
TaskSize = int | Callable[..., int]

_state = threading.local()


@dataclass
class Call:
    """One timed call: what the row will hold."""

    function_name: str
    module: str = ""
    task_size: int = 0
    solved: int = 0
    failed: int = 0
    started: Any = field(default_factory=utcnow)
    counted: bool = False  # set once the code counted items itself

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("solved", "failed") and "counted" in self.__dict__:
            object.__setattr__(self, "counted", True)
        object.__setattr__(self, name, value)


FLUSH_ROWS = 200  # rows a run's recorder holds at most before writing them
_FIELDS = (
    "app",
    "runtime",
    "function_name",
    "module",
    "started",
    "runtime_seconds",
    "task_size",
    "solved",
    "failed",
)


class Recorder:
    """Writes ``FunctionLog`` rows for one run (the target of ``ctx.function_log``).

    Rows of calls nested in another call of the same thread wait in the recorder and go
    in with the outermost call's row, in one batch (``COPY`` on PostgreSQL, through the
    log batcher's ``insert_rows``), or once ``FLUSH_ROWS`` wait: a loop of decorated
    calls inside a timed block costs one write per batch, not one per call. A call
    that is no other's inner one is written when it ends, as are the rows waiting.
    """

    def __init__(self, app_id: str, runtime_id: str | None) -> None:
        self.app_id = app_id
        self.runtime_id = runtime_id
        self._muted = False
        self._rows: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    @property
    def muted(self) -> bool:
        """Set when the run is abandoned: what ended before is written, later calls not."""
        return self._muted

    @muted.setter
    def muted(self, value: bool) -> None:
        if value and not self._muted:
            self.flush()
        self._muted = value

    def write(self, call: Call, seconds: float) -> None:
        if self._muted:
            return
        row = {
            "app": self.app_id,
            "runtime": self.runtime_id,
            "function_name": call.function_name[:200],
            "module": call.module[:200],
            "started": call.started,
            "runtime_seconds": round(max(seconds, 0.0), 6),
            "task_size": max(0, int(call.task_size)),
            "solved": max(0, int(call.solved)),
            "failed": max(0, int(call.failed)),
        }
        with self._lock:
            self._rows.append(row)
            pending = len(self._rows)
        if pending >= FLUSH_ROWS or not _calls():  # the thread's outermost call ended
            self.flush()

    def flush(self) -> int:
        """Write the rows waiting; how many were written (0 if the write failed)."""
        with self._lock:
            rows, self._rows = self._rows, []
        if not rows:
            return 0
        try:
            insert_rows(FunctionLog, _FIELDS, rows)
        except Exception:
            names = sorted({row["function_name"] for row in rows})
            log.exception("could not record %d function log rows (%s)", len(rows), names)
            return 0
        return len(rows)

    @contextlib.contextmanager
    def block(self, name: str, task_size: int = 0, module: str = "") -> Iterator[Call]:
        call = Call(function_name=name, module=module, task_size=task_size)
        stack = _calls()
        stack.append(call)
        began = time.perf_counter()
        try:
            yield call
        except BaseException:
            _settle(call, None, raised=True)
            raise
        else:
            _settle(call, None, raised=False)
        finally:
            stack.pop()
            self.write(call, time.perf_counter() - began)


def _calls() -> list[Call]:
    if not hasattr(_state, "calls"):
        _state.calls = []
    calls: list[Call] = _state.calls
    return calls


def set_recorder(recorder: Recorder | None) -> None:
    """Make ``recorder`` the one ``@function_log`` uses in this thread (the runner does)."""
    _state.recorder = recorder


def current_recorder() -> Recorder | None:
    return getattr(_state, "recorder", None)


def current_call() -> Call | None:
    """The innermost ``function_log`` call of this thread, to count items in."""
    calls = _calls()
    return calls[-1] if calls else None


def _size(task_size: TaskSize, args: tuple[Any, ...], kwargs: dict[str, Any]) -> int:
    if callable(task_size):
        if not args:
            return 0
        try:
            return int(task_size(args[0]))
        except Exception:  # noqa: BLE001 - a size we cannot compute is recorded as 0
            return 0
    return int(task_size)


def _settle(call: Call, result: Any, raised: bool) -> None:
    if isinstance(result, Mapping) and ("solved" in result or "failed" in result):
        call.solved = int(result.get("solved", 0))
        call.failed = int(result.get("failed", 0))
    elif not call.counted:
        if raised:
            call.failed = call.task_size
        else:
            call.solved = call.task_size


def decorate(
    func: F, recorder: Callable[[], Recorder | None], name: str | None, task_size: TaskSize
) -> F:
    """Wrap ``func`` so each call is recorded by ``recorder()`` (when there is one)."""
    label = name or func.__name__
    module = func.__module__ or ""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        target = recorder()
        if target is None:
            return func(*args, **kwargs)
        with target.block(label, _size(task_size, args, kwargs), module) as call:
            try:
                result = func(*args, **kwargs)
            except BaseException:
                _settle(call, None, raised=True)
                raise
            _settle(call, result, raised=False)
            return result

    return wrapper  # type: ignore[return-value]


class _Both:
    """What ``function_log(...)`` returns: a decorator and a context manager at once."""

    def __init__(
        self, recorder: Callable[[], Recorder | None], name: str | None, task_size: TaskSize
    ) -> None:
        self._recorder = recorder
        self._name = name
        self._task_size = task_size
        self._block: contextlib.AbstractContextManager[Call] | None = None

    def __call__(self, func: F) -> F:
        return decorate(func, self._recorder, self._name, self._task_size)

    def __enter__(self) -> Call:
        target = self._recorder()
        size = self._task_size if isinstance(self._task_size, int) else 0
        name = self._name or "block"
        if target is None:
            self._block = contextlib.nullcontext(Call(function_name=name, task_size=size))
        else:
            self._block = target.block(name, size)
        return self._block.__enter__()

    def __exit__(self, *exc: Any) -> bool | None:
        assert self._block is not None
        block, self._block = self._block, None
        return block.__exit__(*exc)


@overload
def function_log(name_or_func: F) -> F: ...
@overload
def function_log(name_or_func: str | None = None, *, task_size: TaskSize = 0) -> _Both: ...
def function_log(name_or_func: Any = None, *, task_size: TaskSize = 0) -> Any:
    """Record ``FunctionLog`` rows for the current thread's run (see the module docstring)."""
    if callable(name_or_func):
        return decorate(name_or_func, current_recorder, None, task_size)
    return _Both(current_recorder, name_or_func, task_size)


def bound_function_log(recorder: Recorder) -> Callable[..., Any]:
    """``function_log`` bound to one run's recorder (``ctx.function_log``)."""

    def function_log_for_run(name_or_func: Any = None, *, task_size: TaskSize = 0) -> Any:
        if callable(name_or_func):
            return decorate(name_or_func, lambda: recorder, None, task_size)
        return _Both(lambda: recorder, name_or_func, task_size)

    function_log_for_run.__doc__ = function_log.__doc__
    return function_log_for_run
