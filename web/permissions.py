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
    # Prometheus: a credential of any role, or an allowlisted address (checked by the
    # resource, web/resources/system.py)
    ("/metrics", "GET"): PUBLIC,
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
    # system: host metrics (any role), configuration (admins, even to read)
    (f"{API}/system/metrics", "GET"): READ,
    (f"{API}/system/config", "GET"): ADMIN,
    (f"{API}/system/config", "POST"): ADMIN,
    # activity (audit)
    (f"{API}/activity", "GET"): ADMIN,
    (f"{API}/activity/stats", "GET"): READ,
    # apps
    (f"{API}/apps", "GET"): READ,
    (f"{API}/apps/{{app_id}}", "GET"): READ,
    (f"{API}/groups", "GET"): READ,
    (f"{API}/apps/{{app_id}}", "PATCH"): ADMIN,
    (f"{API}/apps/{{app_id}}/start", "POST"): COMMAND,
    (f"{API}/apps/{{app_id}}/stop", "POST"): COMMAND,
    (f"{API}/apps/{{app_id}}/reset", "POST"): COMMAND,
    # commands
    (f"{API}/commands/{{command_id}}", "GET"): READ,
    (f"{API}/commands/{{command_id}}/ack", "POST"): COMMAND,
    # runtimes and logs
    (f"{API}/runtimes", "GET"): READ,
    (f"{API}/runtimes/{{runtime_id}}", "GET"): READ,
    (f"{API}/logs", "GET"): READ,
    (f"{API}/logs/export", "GET"): READ,
    # pipelines
    (f"{API}/pipelines/tasks", "GET"): READ,
    (f"{API}/pipelines/tasks/{{task_id}}", "GET"): READ,
    (f"{API}/pipelines/throughput", "GET"): READ,
    (f"{API}/pipelines/errors", "GET"): READ,
    # function performance
    (f"{API}/performance/functions", "GET"): READ,
    (f"{API}/performance/functions/slowest", "GET"): READ,
    (f"{API}/performance/functions/trends", "GET"): READ,
    (f"{API}/performance/functions/{{app_id}}", "GET"): READ,
    # live feeds (WebSocket; the role is checked on the first message, web/ws/session.py)
    (f"{API}/ws/dashboard", "WEBSOCKET"): READ,
    (f"{API}/ws/logs", "WEBSOCKET"): READ,
    (f"{API}/logs/stream", "WEBSOCKET"): READ,
    # notifications: channel configuration and test sends are administration; the
    # history is read like the logs (event titles and errors, never channel settings)
    (f"{API}/notifications/channels", "GET"): ADMIN,
    (f"{API}/notifications/channels", "POST"): ADMIN,
    (f"{API}/notifications/channels/{{channel_id}}", "GET"): ADMIN,
    (f"{API}/notifications/channels/{{channel_id}}", "PATCH"): ADMIN,
    (f"{API}/notifications/channels/{{channel_id}}", "DELETE"): ADMIN,
    (f"{API}/notifications/history", "GET"): READ,
    (f"{API}/notifications/test/{{channel_id}}", "POST"): ADMIN,
    # background jobs that failed for good
    (f"{API}/jobs/dead", "GET"): ADMIN,
    (f"{API}/jobs/dead/{{job_id}}/requeue", "POST"): ADMIN,
    # bulk jobs: created like commands, read like commands
    (f"{API}/bulk/start", "POST"): COMMAND,
    (f"{API}/bulk/stop", "POST"): COMMAND,
    (f"{API}/bulk/command", "POST"): COMMAND,
    (f"{API}/bulk/jobs", "GET"): READ,
    (f"{API}/bulk/jobs/{{job_id}}", "GET"): READ,
}

__all__ = ["ADMIN", "COMMAND", "HUMAN", "PUBLIC", "READ", "ROUTES"]


def allowed_roles(path: str, method: str) -> frozenset[Role] | None:
    """The roles admitted to ``method path``; None when the route is not in the table."""
    return ROUTES.get((path, method))
