"""Live updates on every page: hand the browser the URL of the API's
``/api/v1/ws/dashboard`` and a current access token; the socket itself is
``assets/dashboard_live.js`` (grid rows, toasts, the connection state)."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output

from control.settings import Settings
from dashboard.callbacks.clientside import clientside
from dashboard.callbacks.live_logs import DASHBOARD_WS_PATH, TOKEN_MARGIN_SECONDS, websocket_url
from dashboard.callbacks.session import needs_session
from dashboard.sessions import current_client


def register(app: dash.Dash, settings: Settings) -> None:
    public = settings.dashboard_public_api_url or settings.dashboard_api_url
    url = websocket_url(public, DASHBOARD_WS_PATH)

    @app.callback(Output("dash-ws-config", "data"), Input("dash-ws-reconnect", "data"))
    @needs_session
    def _config(_: Any) -> dict[str, Any]:
        tokens = current_client().access_token(TOKEN_MARGIN_SECONDS)
        return {"url": url, "token": tokens.access_token}  # never the refresh token

    clientside(
        app,
        "dashboardLive",
        Output("dash-ws-sink", "children"),
        Input("dash-ws-config", "data"),
    )
