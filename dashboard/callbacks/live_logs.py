"""Live logs: hand the browser the WebSocket URL and a current access token; the socket
itself is ``assets/live_logs.js`` (a clientside callback)."""

from __future__ import annotations

import time
from typing import Any

import dash
from dash import Input, Output

from control.settings import Settings
from dashboard.callbacks.clientside import clientside
from dashboard.callbacks.session import needs_session
from dashboard.sessions import current_client

WS_PATH = "/api/v1/ws/logs"
DASHBOARD_WS_PATH = "/api/v1/ws/dashboard"
TOKEN_MARGIN_SECONDS = 120.0  # hand out a token with at least this long to live


def websocket_url(public_api_url: str, path: str = WS_PATH) -> str:
    if public_api_url.startswith("https://"):
        return "wss://" + public_api_url[len("https://") :] + path
    return "ws://" + public_api_url.removeprefix("http://") + path


def register(app: dash.Dash, settings: Settings) -> None:
    url = websocket_url(settings.dashboard_public_api_url or settings.dashboard_api_url)

    @app.callback(
        Output("ws-config", "data"),
        Input("live-app", "value"),
        Input("live-level", "value"),
        Input("ws-reconnect", "data"),
    )
    @needs_session
    def _config(glob: str | None, level: str | None, _: Any) -> dict[str, Any]:
        tokens = current_client().access_token(TOKEN_MARGIN_SECONDS)
        return {
            "url": url,
            "token": tokens.access_token,  # the access token only, never the refresh token
            "app": (glob or "").strip() or None,
            "level": level or "DEBUG",
            "issued": time.time(),
        }

    clientside(
        app,
        "liveLogs",
        Output("live-sink", "children"),
        Input("ws-config", "data"),
    )
    clientside(
        app,
        "clearLogs",
        Output("live-lines", "title"),
        Input("live-clear", "n_clicks"),
        prevent_initial_call=True,
    )
