"""The dashboard's URL prefix and page paths (nginx routes ``/dashboard/`` to it unchanged)."""

from __future__ import annotations

from urllib.parse import quote, unquote

PREFIX = "/dashboard/"
LOGIN = f"{PREFIX}login"
LOGOUT = f"{PREFIX}logout"
STATISTICS = f"{PREFIX}statistics"
DATA_PROCESSOR = f"{PREFIX}data-processor"
LIVE_LOGS = f"{PREFIX}live-logs"


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
    if rest in {"statistics", "data-processor", "live-logs"}:
        return rest, ""
    return "missing", path
