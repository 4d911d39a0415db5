"""The user's settings page: save the time zone (``PATCH /api/v1/settings``) and hand it
to the pages through the shell's ``user-tz`` store.

Pages read the store as a ``State`` (never an ``Input``): a new zone must not trigger the
grid's row callback, whose answer AG Grid's infinite model waits for (Dash drops the answer
of a callback triggered again before it returned, and the grid would wait for ever). The
grid shows the new zone from its next request on.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import dash
from dash import Input, Output, State, no_update
from dash.exceptions import PreventUpdate

from dashboard.api_client import ApiClient, ApiError
from dashboard.callbacks.session import needs_session
from dashboard.pages.user_settings import time_zones
from dashboard.rows import zone
from dashboard.sessions import current_client


def user_zone(client: ApiClient, name: str | None) -> ZoneInfo:
    """The zone the page's ``user-tz`` store names, else the user's setting from the API
    (the store is empty when the page loaded while the API was away)."""
    return zone(name if name else client.timezone())


def now_in(name: str | None, now: dt.datetime | None = None) -> str:
    current = now or dt.datetime.now(dt.UTC)
    return f"Now: {current.astimezone(zone(name)):%Y-%m-%d %H:%M} ({zone(name).key})"


def register(app: dash.Dash) -> None:
    @app.callback(
        Output("user-tz", "data"),
        Output("tz-status", "children"),
        Output("tz-status", "className"),
        Input("tz-save", "n_clicks"),
        State("tz-input", "value"),
        prevent_initial_call=True,
    )
    @needs_session
    def _save(clicks: int | None, typed: str | None) -> tuple[Any, str, str]:
        if not clicks:
            raise PreventUpdate
        name = (typed or "").strip()
        if name not in time_zones():
            return no_update, f"Unknown time zone: {name!r} (pick one from the list)", "error"
        try:
            saved = current_client().update_user_settings({"timezone": name})
        except ApiError as exc:
            return no_update, f"Could not save: {exc.message}", "error"
        name = str(saved.get("timezone") or name)
        return name, f"Saved: times are shown in {name}.", "ok"

    @app.callback(Output("tz-now", "children"), Input("user-tz", "data"))
    def _now(name: str | None) -> str:
        return now_in(name)
