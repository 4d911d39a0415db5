"""The sidebar's group entries, from ``GET /groups`` (with each group's fatal count)."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, State, ctx, dcc
from dash.exceptions import PreventUpdate

from dashboard import paths
from dashboard.api_client import ApiError
from dashboard.callbacks.session import needs_session
from dashboard.rows import group_label
from dashboard.sessions import current_client


def register(app: dash.Dash) -> None:
    # Once a minute; and on every tick while the list is still empty (the first load
    # failed). A failure keeps the entries shown: groups never vanish.
    @app.callback(
        Output("group-links", "children"),
        Input("slow-tick", "n_intervals"),
        Input("tick", "n_intervals"),
        State("group-links", "children"),
    )
    @needs_session
    def _groups(_: int | None, __: int | None, shown: list[Any] | None) -> list[Any]:
        if ctx.triggered_id == "tick" and shown:
            raise PreventUpdate
        try:
            groups = current_client().groups()
        except ApiError:
            raise PreventUpdate from None
        return [
            dcc.Link(
                group_label(g),
                href=paths.group_path(g["group"]),
                className="nav-link group-link",
                title=f"{g['apps']} apps, {g['running']} running, {g['fatal']} fatal",
            )
            for g in groups
        ]
