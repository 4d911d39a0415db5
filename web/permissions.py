"""Who may call what: route and method to roles. Deny by default.

Every route the app registers must appear here; a test walks the router and fails the
build for a missing one. ``PUBLIC`` routes need no credentials.
"""

from __future__ import annotations

from control.auth.roles import ADMIN, COMMAND, HUMAN, READ, Role

PUBLIC: frozenset[Role] = frozenset()
"""Marker: no authentication required."""

API = "/api/v1"

ROUTES: dict[tuple[str, str], frozenset[Role]] = {
    # documentation and public health
    ("/api/openapi.json", "GET"): PUBLIC,
    ("/api/docs", "GET"): PUBLIC,
    ("/api/redoc", "GET"): PUBLIC,
    (f"{API}/system/health", "GET"): PUBLIC,
    # authentication
    (f"{API}/auth/token", "POST"): PUBLIC,
    (f"{API}/auth/refresh", "POST"): PUBLIC,
    (f"{API}/auth/service", "POST"): PUBLIC,
    (f"{API}/auth/logout", "POST"): READ,
    (f"{API}/auth/me", "GET"): READ,
    # the user's own settings and keys (humans only)
    (f"{API}/settings", "GET"): HUMAN,
    (f"{API}/settings", "PATCH"): HUMAN,
    (f"{API}/settings/api-keys", "GET"): HUMAN,
    (f"{API}/settings/api-keys", "POST"): HUMAN,
    (f"{API}/settings/api-keys/{{key_id}}", "DELETE"): HUMAN,
    # activity (audit)
    (f"{API}/activity", "GET"): ADMIN,
    (f"{API}/activity/stats", "GET"): READ,
    # apps
    (f"{API}/apps", "GET"): READ,
    (f"{API}/apps/{{app_id}}", "GET"): READ,
}

__all__ = ["ADMIN", "COMMAND", "HUMAN", "PUBLIC", "READ", "ROUTES"]


KNOWN_PATHS = frozenset(path for path, _ in ROUTES)


def is_unrouted_method(path: str, method: str) -> bool:
    """True when ``path`` is a route but ``method`` is not one of its methods (a 405).

    Sound because the build test checks every routed method is in the table.
    """
    return path in KNOWN_PATHS and (path, method) not in ROUTES


def allowed_roles(path: str, method: str) -> frozenset[Role] | None:
    """The roles admitted to ``method path``; None when the route is not in the table."""
    return ROUTES.get((path, method))
