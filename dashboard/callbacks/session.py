"""The session inside callbacks: a guard for API calls, and the redirect to the login page
once the session is gone (signed out elsewhere, expired, or the dashboard restarted)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import dash
import flask
from dash import Input, Output
from dash.exceptions import PreventUpdate

from dashboard import paths
from dashboard.api_client import ApiUnavailable, NotSignedIn
from dashboard.sessions import signed_in, store

F = TypeVar("F", bound=Callable[..., Any])


def needs_session(fn: F) -> F:
    """Run a callback that calls the API; without a usable session, change nothing (and
    forget the dead session, so the next tick sends the page to the login form). While
    the API is unavailable, change nothing either: the page keeps its last data, the
    banner (``api_banner``) says it is stale, and the next tick tries again."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except NotSignedIn:
            store().drop(flask.session.get("sid"))
            raise PreventUpdate from None
        except ApiUnavailable:
            raise PreventUpdate from None

    return wrapper  # type: ignore[return-value]


def register(app: dash.Dash) -> None:
    @app.callback(Output("redirect", "href"), Input("tick", "n_intervals"))
    def _to_login(_: int | None) -> str:
        if signed_in():
            raise PreventUpdate
        return paths.LOGIN
