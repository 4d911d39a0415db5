"""The outage banner: "API unreachable since 12:03:41 UTC — retrying", on every page.

Every API call reports to ``dashboard.api_status``; on each tick this callback shows what it
says. While the API is down no other callback may call it (they keep their last data), so
the banner itself asks ``/auth/me`` once a tick: the first answer clears the outage,
and ``api-state`` changing back to up makes the grid reload at once (``apps_grid.js``).
"""

from __future__ import annotations

import contextlib
from typing import Any

import dash
from dash import Input, Output, State
from dash.exceptions import PreventUpdate

from dashboard import api_status
from dashboard.api_client import ApiError, NotSignedIn
from dashboard.sessions import current_client, signed_in

UP: dict[str, Any] = {"up": True, "since": None}


def banner_text(outage: api_status.Outage) -> str:
    return f"{outage.reason} Unreachable since {outage.since:%H:%M:%S} UTC — retrying…"


def probe() -> None:
    """One cheap call, for its effect on ``api_status``."""
    if not signed_in():
        return
    with contextlib.suppress(ApiError, NotSignedIn):  # api_status has been told
        current_client().me()


def register(app: dash.Dash) -> None:
    @app.callback(
        Output("api-banner", "children"),
        Output("api-banner", "className"),
        Output("api-state", "data"),
        Input("tick", "n_intervals"),
        State("api-state", "data"),
    )
    def _banner(_: int | None, state: dict[str, Any] | None) -> Any:
        if api_status.outage() is not None:
            probe()
        outage = api_status.outage()
        if outage is None:
            if state == UP:
                raise PreventUpdate
            return "", "api-banner", UP
        down = {"up": False, "since": outage.since.isoformat()}
        return banner_text(outage), "api-banner down", down
