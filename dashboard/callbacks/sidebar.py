"""The sidebar's group entries, from the groups the fleet's apps name."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, dcc

from dashboard import paths
from dashboard.api_client import ApiError
from dashboard.callbacks.session import needs_session
from dashboard.rows import groups_of
from dashboard.sessions import current_client


def register(app: dash.Dash) -> None:
    @app.callback(Output("group-links", "children"), Input("slow-tick", "n_intervals"))
    @needs_session
    def _groups(_: int | None) -> list[Any]:
        try:
            groups = groups_of(current_client().apps())
        except ApiError:
            return []
        return [
            dcc.Link(group, href=paths.group_path(group), className="nav-link group-link")
            for group in groups
        ]
