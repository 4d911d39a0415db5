"""Is the API answering? One record for the whole dashboard process.

Every call of :class:`dashboard.api_client.ApiClient` reports here: a call that could not
reach the API, or that the API answered 5xx or 429, marks it *down* from that moment (the
first failure is kept, so the banner says since when); any answered call marks it *up*.
The page's banner (``callbacks/api_banner.py``) reads it on every tick. The API is one
server for every signed-in user, so one record per process is the truth for all of them.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class Outage:
    """The API has not answered properly since ``since`` (UTC); ``reason`` says how."""

    since: dt.datetime
    reason: str


_lock = threading.Lock()
_outage: Outage | None = None


def mark_down(reason: str, now: dt.datetime | None = None) -> None:
    """A call failed; an outage already under way keeps its start."""
    global _outage
    with _lock:
        if _outage is None:
            _outage = Outage(now or dt.datetime.now(dt.UTC), reason)


def mark_up() -> None:
    global _outage
    with _lock:
        _outage = None


def outage() -> Outage | None:
    with _lock:
        return _outage
