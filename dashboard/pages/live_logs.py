"""Live logs: ``log.entry`` events pushed over the API's ``/api/v1/ws/logs`` WebSocket.

The browser holds the socket (``assets/live_logs.js``); the server hands it the WebSocket
URL and a current access token (never the refresh token) through ``ws-config``.
"""

from __future__ import annotations

from dash import dcc, html

LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


def layout() -> html.Div:
    return html.Div(
        [
            html.H2("Live logs", id="page-title"),
            html.Div(
                className="live-filters",
                children=[
                    html.Label(
                        [
                            "App (glob) ",
                            dcc.Input(
                                id="live-app",
                                type="text",
                                placeholder="scraper_*",
                                debounce=True,
                                maxLength=128,
                            ),
                        ]
                    ),
                    html.Label(
                        [
                            "Minimum level ",
                            dcc.Dropdown(
                                id="live-level",
                                options=LEVELS,
                                value="DEBUG",
                                clearable=False,
                                className="level-dropdown",
                            ),
                        ]
                    ),
                    html.Button("Clear", id="live-clear", n_clicks=0),
                ],
            ),
            html.Div("connecting…", id="live-status", className="muted", role="status"),
            dcc.Store(id="ws-config"),
            dcc.Store(id="ws-reconnect"),
            html.Div(id="live-sink", hidden=True),
            html.Div(id="live-lines", className="live-lines"),
        ]
    )
