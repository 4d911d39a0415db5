"""The page shell: sidebar navigation, the routed content area, and the shared timers."""

from __future__ import annotations

from typing import Any

import flask
from dash import dcc, html

from dashboard import paths
from dashboard.api_client import ApiError, NotSignedIn
from dashboard.pages.admin_nav import admin_nav, theme_toggle
from dashboard.rows import VIEW_LABELS
from dashboard.sessions import current_role, store


def _whoami() -> str:
    client = store().client(flask.session.get("sid")) if flask.has_request_context() else None
    return f"{client.subject} ({client.role})" if client else ""


def user_zone() -> str | None:
    """The signed-in user's time zone setting (``GET /settings``), read once per page load
    into the ``user-tz`` store; None when unknown (no session, or the API is away: the
    callbacks then ask the API themselves)."""
    client = store().client(flask.session.get("sid")) if flask.has_request_context() else None
    if client is None:
        return None
    try:
        name = client.user_settings().get("timezone")
    except (ApiError, NotSignedIn):
        return None
    return str(name) if name else "UTC"


def sidebar() -> html.Nav:
    views = [
        dcc.Link(label, href=paths.view_path(key), id=f"nav-{key}", className="nav-link")
        for key, label in VIEW_LABELS.items()
    ]
    return html.Nav(
        className="sidebar",
        children=[
            html.Div("Data Collector Control", className="brand"),
            theme_toggle(),
            html.Div(_whoami(), id="whoami", className="whoami"),
            html.Div("Live: connecting…", id="live-state", className="live-state disconnected"),
            html.H3("Program Manager"),
            html.Div(views, className="nav-group"),
            html.H4("Groups"),
            html.Div(id="group-links", className="nav-group"),
            html.H3(dcc.Link("Statistics", href=paths.STATISTICS, id="nav-statistics")),
            html.H3(dcc.Link("Data Processor", href=paths.DATA_PROCESSOR, id="nav-data")),
            html.H3(dcc.Link("Live logs", href=paths.LIVE_LOGS, id="nav-live-logs")),
            html.H3(dcc.Link("Agents & queues", href=paths.AGENTS_QUEUES, id="nav-agents")),
            html.H3(dcc.Link("Settings", href=paths.SETTINGS, id="nav-settings")),
            *admin_nav(),
            html.Form(
                action=paths.LOGOUT,
                method="POST",
                className="logout-form",
                children=html.Button("Log out", id="logout", type="submit"),
            ),
        ],
    )


_ARIA_LIVE: dict[str, Any] = {"aria-live": "polite"}


def shell(refresh_ms: int) -> html.Div:
    """The whole page; the content area is filled by ``callbacks.routing``."""
    # hyphenated attributes go in as a dict (they cannot be keywords)
    role: dict[str, Any] = (
        {"data-role": current_role() or ""} if flask.has_request_context() else {}
    )
    return html.Div(
        className="shell",
        **role,
        children=[
            dcc.Location(id="url", refresh=False),
            dcc.Location(id="redirect", refresh=True),
            dcc.Interval(id="tick", interval=refresh_ms),
            dcc.Interval(id="slow-tick", interval=60_000),
            dcc.Store(id="api-state"),
            # the user's time zone: read (State) by the pages, written by the settings page
            dcc.Store(id="user-tz", data=user_zone()),
            # live updates (callbacks/live_updates.py, assets/dashboard_live.js)
            dcc.Store(id="dash-ws-config"),
            dcc.Store(id="dash-ws-reconnect"),
            html.Div(id="dash-ws-sink", hidden=True),
            html.Div(id="toasts", className="toasts", **_ARIA_LIVE),
            sidebar(),
            html.Main(
                className="page",
                children=[
                    # the outage banner (callbacks/api_banner.py); while it shows, the
                    # page's data is stale (dashboard.css greys it)
                    html.Div(id="api-banner", className="api-banner", role="alert"),
                    html.Div(id="page"),
                ],
            ),
        ],
    )
