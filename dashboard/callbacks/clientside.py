"""Browser-side callbacks: a function of ``window.dash_clientside.dc`` (``assets/*.js``)
wired to its outputs and inputs."""

from __future__ import annotations

import dash
from dash import ClientsideFunction, Input, Output, State


def clientside(
    app: dash.Dash,
    function_name: str,
    *dependencies: Output | Input | State,
    prevent_initial_call: bool | None = None,
) -> None:
    """Register ``dc.<function_name>`` on ``app`` with ``dependencies`` in order."""
    app.clientside_callback(  # type: ignore[no-untyped-call]  # unannotated in dash
        ClientsideFunction(namespace="dc", function_name=function_name),
        *dependencies,
        prevent_initial_call=prevent_initial_call,
    )
