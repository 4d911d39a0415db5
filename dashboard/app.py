"""The dashboard's factory: the Flask server, the Dash app on it, and their wiring."""

from __future__ import annotations

import hashlib
import hmac
from functools import partial
from pathlib import Path

import dash
import flask

from control.settings import Settings, get_settings
from dashboard import callbacks, layout, login, security
from dashboard.paths import PREFIX
from dashboard.sessions import EXTENSION, SessionStore

ASSETS = Path(__file__).resolve().parent / "assets"
SESSION_COOKIE = "dc_dashboard_session"


def session_secret(settings: Settings) -> str:
    """``DC_DASHBOARD_SECRET_KEY``, or a key derived from ``DC_JWT_SECRET`` (so the secret
    for the cookie's signature is never the token-signing secret itself)."""
    own = settings.dashboard_secret_key.get_secret_value()
    if own:
        return own
    base = settings.jwt_secret.get_secret_value().encode()
    return hmac.new(base, b"dc-dashboard-session-cookie", hashlib.sha256).hexdigest()


def create_app(settings: Settings | None = None) -> dash.Dash:
    conf = settings or get_settings()
    server = flask.Flask("dashboard")
    server.config.update(
        SECRET_KEY=session_secret(conf),
        SESSION_COOKIE_NAME=SESSION_COOKIE,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=conf.environment == "production",
        SESSION_COOKIE_PATH=PREFIX.rstrip("/"),
        MAX_CONTENT_LENGTH=1024 * 1024,
        DC_API_URL=conf.dashboard_api_url,
        DC_TRUSTED_PROXIES=list(conf.trusted_proxies),  # login.client_address
    )
    server.extensions[EXTENSION] = SessionStore(conf.dashboard_api_url)
    csp = ["default-src 'self'"]  # replaced below once Dash knows its inline scripts
    security.install(server, PREFIX, csp)
    login.install(server, PREFIX)

    app = dash.Dash(
        "dashboard",
        server=server,  # type: ignore[arg-type]  # dash's annotation leaves out a Flask app
        url_base_pathname=PREFIX,
        assets_folder=str(ASSETS),
        serve_locally=True,  # every script from this server, never a CDN
        suppress_callback_exceptions=True,  # pages create their components on the fly
        title="Data Collector Control",
        update_title=None,  # type: ignore[arg-type]  # None (no title change) is documented
        compress=False,
    )
    app.layout = partial(layout.shell, int(conf.dashboard_refresh_seconds * 1000))
    callbacks.register(app, conf)
    public_api = conf.dashboard_public_api_url or conf.dashboard_api_url
    csp[0] = security.content_security_policy(
        app.csp_hashes(), security.websocket_origin(public_api)
    )
    return app
