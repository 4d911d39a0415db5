"""The page shell: sidebar navigation, the routed content area, and the shared timers."""

from __future__ import annotations

import flask
from dash import dcc, html

from dashboard import paths
from dashboard.rows import VIEW_LABELS
from dashboard.sessions import current_role, store


def _whoami() -> str:
    client = store().client(flask.session.get("sid")) if flask.has_request_context() else None
    return f"{client.tokens.subject} ({client.tokens.role})" if client else ""


def sidebar() -> html.Nav:
    views = [
        dcc.Link(label, href=paths.view_path(key), id=f"nav-{key}", className="nav-link")
        for key, label in VIEW_LABELS.items()
    ]
    return html.Nav(
        className="sidebar",
        children=[
            html.Div("Data Collector Control", className="brand"),
            html.Div(_whoami(), id="whoami", className="whoami"),
            html.H3("Program Manager"),
            html.Div(views, className="nav-group"),
            html.H4("Groups"),
            html.Div(id="group-links", className="nav-group"),
            html.H3(dcc.Link("Statistics", href=paths.STATISTICS, id="nav-statistics")),
            html.H3(dcc.Link("Data Processor", href=paths.DATA_PROCESSOR, id="nav-data")),
            html.H3(dcc.Link("Live logs", href=paths.LIVE_LOGS, id="nav-live-logs")),
            html.Form(
                action=paths.LOGOUT,
                method="POST",
                className="logout-form",
                children=html.Button("Log out", id="logout", type="submit"),
            ),
        ],
    )


def shell(refresh_ms: int) -> html.Div:
    """The whole page; the content area is filled by ``callbacks.routing``."""
    return html.Div(
        className="shell",
        **{"data-role": current_role() or ""} if flask.has_request_context() else {},
        children=[
            dcc.Location(id="url", refresh=False),
            dcc.Location(id="redirect", refresh=True),
            dcc.Interval(id="tick", interval=refresh_ms),
            dcc.Interval(id="slow-tick", interval=60_000),
            sidebar(),
            html.Main(id="page", className="page"),
        ],
    )
