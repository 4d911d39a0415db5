"""The signed-in user's own settings: the time zone the pages show times in.

The picker is a text box with a ``<datalist>`` of the IANA names (the browser filters it as
one types), built only on this page: the page shell stays small, and nothing here is an
input of the Program Manager's grid (``callbacks/user_settings.py`` writes the chosen zone
into the shell's ``user-tz`` store, which the grid only reads).
"""

from __future__ import annotations

import zoneinfo
from functools import cache

from dash import dcc, html


@cache
def time_zones() -> tuple[str, ...]:
    """Every IANA zone name this Python knows (what the API accepts), sorted."""
    return tuple(sorted(zoneinfo.available_timezones()))


def layout(current: str | None) -> html.Div:
    zone = current or "UTC"
    return html.Div(
        [
            html.H2("Settings", id="page-title"),
            html.Div(
                className="settings-form",
                children=[
                    html.Label("Time zone", htmlFor="tz-input"),
                    html.P(
                        "Times on every page are shown in this zone; hovering a time shows "
                        "it in UTC.",
                        className="muted",
                    ),
                    dcc.Input(
                        id="tz-input",
                        type="text",
                        value=zone,
                        list="tz-options",
                        placeholder="Europe/Berlin",
                        autoComplete="off",
                        maxLength=64,
                        className="tz-input",
                    ),
                    html.Datalist(
                        id="tz-options", children=[html.Option(value=z) for z in time_zones()]
                    ),
                    html.Button("Save", id="tz-save", n_clicks=0),
                    html.Div(id="tz-status", role="status"),
                    html.Div(id="tz-now", className="muted"),
                ],
            ),
        ]
    )
