"""The sidebar's group entries, from ``GET /groups`` (with each group's fatal count)."""

from __future__ import annotations

from typing import Any

import dash
from dash import Input, Output, dcc

from dashboard import paths
from dashboard.api_client import ApiError
from dashboard.callbacks.session import needs_session
from dashboard.rows import group_label
from dashboard.sessions import current_client


def register(app: dash.Dash) -> None:
    @app.callback(Output("group-links", "children"), Input("slow-tick", "n_intervals"))
    @needs_session
    def _groups(_: int | None) -> list[Any]:
        try:
            groups = current_client().groups()
        except ApiError:
            return []
        return [
            dcc.Link(
                group_label(g),
                href=paths.group_path(g["group"]),
                className="nav-link group-link",
                title=f"{g['apps']} apps, {g['running']} running, {g['fatal']} fatal",
            )
            for g in groups
        ]
