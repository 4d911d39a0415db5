"""The grid's run strips, kept per session between polls.

A poll reloads the blocks the grid shows every few seconds, and most of the time no app in
a block has had a new run since the last poll. An app's strip (its last runs) changes only
when its *Last run* does: a run starts (a new id), or ends (the same id, a new status), and
the app list already says so (``last_run`` of ``GET /apps``). So the strips are kept with
the last run they were fetched at, and ``GET /runtimes/recent`` is asked only for the apps
whose last run changed, is still running (its square shows the time so far), or whose strip
is older than ``MAX_AGE_SECONDS``: in a quiet fleet a poll makes one API call, not two.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any
from zoneinfo import ZoneInfo

from dashboard.api_client import ApiClient
from dashboard.rows import RUN_STRIP_LENGTH, run_cells

MAX_AGE_SECONDS = 60.0  # a strip is fetched again at least this often, changed or not
MAX_APPS = 5_000  # strips kept per session (least recently shown go first)
RUNNING = "RUNNING"


def strip_key(app: dict[str, Any], tz: ZoneInfo) -> Hashable | None:
    """What the app's strip depends on, from its ``GET /apps`` record; None while its last
    run is running (fetched every time)."""
    last = app.get("last_run") or {}
    if last.get("status") == RUNNING:
        return None
    return (last.get("runtime"), last.get("status"), last.get("ended"), tz.key)


class RunStrips:
    """One session's strips: app id → (key, fetched at, cells)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._kept: OrderedDict[str, tuple[Hashable, float, list[Any]]] = OrderedDict()

    def for_block(
        self, client: ApiClient, apps: list[dict[str, Any]], tz: ZoneInfo
    ) -> dict[str, list[Any]]:
        """Each app's run strip cells (``rows.run_cells``), fetching only what changed."""
        now = self._clock()
        keys = {str(a["id"]): strip_key(a, tz) for a in apps}
        with self._lock:
            stale = [
                app_id
                for app_id, key in keys.items()
                if key is None
                or (kept := self._kept.get(app_id)) is None
                or kept[0] != key
                or now - kept[1] > MAX_AGE_SECONDS
            ]
        if stale:
            runs = client.recent_runs(stale, RUN_STRIP_LENGTH)
            fresh = {a: run_cells(a, runs.get(a) or [], tz) for a in stale}
            with self._lock:
                for app_id, cells in fresh.items():
                    self._kept[app_id] = (keys[app_id], now, cells)
        with self._lock:
            strips: dict[str, list[Any]] = {}
            for app_id in keys:
                kept = self._kept.get(app_id)
                strips[app_id] = kept[2] if kept is not None else []
                if kept is not None:
                    self._kept.move_to_end(app_id)
            while len(self._kept) > MAX_APPS:
                self._kept.popitem(last=False)
        return strips

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()


_sessions: dict[int, RunStrips] = {}
_sessions_lock = threading.Lock()


def strips_of(client: ApiClient) -> RunStrips:
    """The session's strips (they go with its client)."""
    key = id(client)
    with _sessions_lock:
        found = _sessions.get(key)
        if found is None:
            found = _sessions[key] = RunStrips()
            weakref.finalize(client, _sessions.pop, key, None)
        return found
