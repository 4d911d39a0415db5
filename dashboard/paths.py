"""The dashboard's URL prefix and page paths (nginx routes ``/dashboard/`` to it unchanged)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, quote, unquote, urlencode

PREFIX = "/dashboard/"
LOGIN = f"{PREFIX}login"
LOGOUT = f"{PREFIX}logout"
STATISTICS = f"{PREFIX}statistics"
DATA_PROCESSOR = f"{PREFIX}data-processor"
LIVE_LOGS = f"{PREFIX}live-logs"
SETTINGS = f"{PREFIX}settings"
AGENTS_QUEUES = f"{PREFIX}agents-queues"
ADMIN_NOTIFICATIONS = f"{PREFIX}admin/notifications"
ADMIN_ACTIVITY = f"{PREFIX}admin/activity"
ADMIN_DEAD_JOBS = f"{PREFIX}admin/dead-jobs"
ADMIN_PAGES = ("admin/notifications", "admin/activity", "admin/dead-jobs")


def view_path(view: str) -> str:
    return f"{PREFIX}apps/{view}"


def group_path(group: str) -> str:
    return f"{PREFIX}apps/group/{quote(group, safe='')}"


def app_path(app_id: str) -> str:
    return f"{PREFIX}app/{quote(app_id, safe='')}"


def route(pathname: str | None) -> tuple[str, str]:
    """``(page, argument)`` for a pathname: ``("apps", "running")``, ``("group", "de")``,
    ``("app", "<id>")``, ``("statistics", "")``…, ``("missing", path)``."""
    path = pathname or PREFIX
    if not path.startswith(PREFIX):
        return "missing", path
    rest = path[len(PREFIX) :].strip("/")
    if rest in {"", "apps"}:
        return "apps", "all"
    head, _, tail = rest.partition("/")
    if head == "apps" and tail.startswith("group/"):
        return "group", unquote(tail[len("group/") :])
    if head == "apps":
        return "apps", tail
    if head == "app" and tail:
        return "app", unquote(tail)
    if rest in {"statistics", "data-processor", "live-logs", "settings", "agents-queues"}:
        return rest, ""
    if rest in ADMIN_PAGES:
        return rest, ""
    return "missing", path


DEFAULT_SORT = "id"
SORT_TERM = re.compile(r"^-?[a-z_]{1,32}$")


def query(search: str | None) -> dict[str, str]:
    """The Program Manager's state from a URL's query: ``q`` (search text, at most 128
    characters, as the API takes it) and ``sort`` (the API's form, ``-next_run,id``);
    anything else, or malformed, is dropped."""
    values = parse_qs((search or "").lstrip("?"), max_num_fields=10)
    state: dict[str, str] = {}
    q = (values.get("q") or [""])[0].strip()
    if q:
        state["q"] = q[:128]
    sort = (values.get("sort") or [""])[0]
    terms = [t for t in sort.split(",") if SORT_TERM.match(t)]
    if terms:
        state["sort"] = ",".join(terms[:4])
    return state


def search_for(q: str | None, sort: str | None) -> str:
    """The query part for a Program Manager state (``?q=de&sort=-next_run``); empty for none."""
    pairs = [(k, v) for k, v in (("q", q), ("sort", sort)) if v and v != DEFAULT_SORT]
    return f"?{urlencode(pairs)}" if pairs else ""


def run_of(search: str | None) -> str | None:
    """The run an app page opens on (``?run=<runtime id>``, from the grid's run strip)."""
    run = (parse_qs((search or "").lstrip("?"), max_num_fields=10).get("run") or [""])[0]
    return run[:200] or None
