"""Live logs: hand the browser the WebSocket URL and a current access token; the socket
itself is ``assets/live_logs.js`` (a clientside callback)."""

from __future__ import annotations

import time
from typing import Any

import dash
from dash import ClientsideFunction, Input, Output

from control.settings import Settings
from dashboard.callbacks.session import needs_session
from dashboard.sessions import current_client

WS_PATH = "/api/v1/ws/logs"
TOKEN_MARGIN_SECONDS = 120.0  # hand out a token with at least this long to live


def websocket_url(public_api_url: str) -> str:
    if public_api_url.startswith("https://"):
        return "wss://" + public_api_url[len("https://") :] + WS_PATH
    return "ws://" + public_api_url.removeprefix("http://") + WS_PATH


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

    app.clientside_callback(
        ClientsideFunction(namespace="dc", function_name="liveLogs"),
        Output("live-sink", "children"),
        Input("ws-config", "data"),
    )
    app.clientside_callback(
        ClientsideFunction(namespace="dc", function_name="clearLogs"),
        Output("live-lines", "title"),
        Input("live-clear", "n_clicks"),
        prevent_initial_call=True,
    )
