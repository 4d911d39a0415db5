"""The login and logout routes: plain Flask forms, rendered server-side.

Login trades the email and password for the API's token pair (password grant) and keeps
the pair server-side (``dashboard.sessions``); logout ends the API session
(``POST /auth/logout``) and forgets it here. Both are POSTs from this origin only
(``dashboard.security``).
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Iterable
from html import escape

import flask

from dashboard.api_client import ApiError, NotSignedIn, password_login
from dashboard.sessions import current_client, end_session, store

TITLE = "Data Collector Control"


def _page(prefix: str, message: str = "", email: str = "", next_url: str = "") -> str:
    error = f'<p class="login-error" role="alert" id="login-error">{escape(message)}</p>'
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · {TITLE}</title>
<link rel="icon" href="{prefix}_favicon.ico">
<link rel="stylesheet" href="{prefix}assets/dashboard.css">
</head>
<body class="login-body">
<main class="login-card">
<h1>{TITLE}</h1>
<form method="post" action="{prefix}login" id="login-form">
<label for="email">Email</label>
<input id="email" name="email" type="email" autocomplete="username" required
 value="{escape(email)}" autofocus>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<input type="hidden" name="next" value="{escape(next_url)}">
<button type="submit" id="login-submit">Sign in</button>
</form>
{error if message else ""}
</main>
</body>
</html>
"""


def _safe_next(prefix: str, target: str) -> str:
    """Only a path inside the dashboard (no scheme, no host, no ``//``)."""
    if target.startswith(prefix) and "//" not in target and "\\" not in target:
        return target
    return prefix


def _listed(address: str | None, proxies: Iterable[str]) -> bool:
    try:
        ip = ipaddress.ip_address(address or "")
        return any(ip in ipaddress.ip_network(p.strip(), strict=False) for p in proxies)
    except ValueError:
        return False


def client_address(request: flask.Request, proxies: Iterable[str]) -> str | None:
    """The browser's address, passed to the API's sign-in throttle as ``X-Forwarded-For``
    (which the API believes only from ``DC_TRUSTED_PROXIES``). When the connecting peer is
    one of the same ``DC_TRUSTED_PROXIES`` (nginx overwrites ``X-Forwarded-For`` with the
    client's address), that header's last entry, else the connecting address: a header
    sent straight to the dashboard is not passed on."""
    remote = request.remote_addr
    forwarded = request.headers.get("X-Forwarded-For", "")
    if forwarded.strip() and _listed(remote, proxies):
        return forwarded.split(",")[-1].strip()
    return remote


def install(server: flask.Flask, prefix: str) -> None:
    api_url: str = server.config["DC_API_URL"]

    @server.get(f"{prefix}login")
    def login_form() -> flask.Response:
        next_url = _safe_next(prefix, flask.request.args.get("next", prefix))
        return flask.Response(_page(prefix, next_url=next_url), mimetype="text/html")

    @server.post(f"{prefix}login")
    def login() -> flask.typing.ResponseReturnValue:
        form = flask.request.form
        email = form.get("email", "").strip()
        password = form.get("password", "")
        next_url = _safe_next(prefix, form.get("next", prefix))
        try:
            forwarded_for = client_address(flask.request, server.config["DC_TRUSTED_PROXIES"])
            tokens = password_login(api_url, email, password, forwarded_for=forwarded_for)
        except ApiError as exc:
            if exc.status is None:
                html = _page(prefix, "The API cannot be reached.", email=email, next_url=next_url)
                return flask.Response(html, status=503, mimetype="text/html")
            if exc.status == 429:
                message = "Too many sign-in attempts. Wait a minute and try again."
            elif exc.status in {400, 401, 403, 422}:
                message = "Wrong email or password."
            else:
                message = f"The API refused the sign-in ({exc.status})."
            html = _page(prefix, message, email=email, next_url=next_url)
            return flask.Response(html, status=401, mimetype="text/html")
        end_session()  # a new session id at every sign-in (no fixation)
        flask.session["sid"] = store().create(tokens, email)
        return flask.redirect(next_url, code=303)

    @server.post(f"{prefix}logout")
    def logout() -> flask.typing.ResponseReturnValue:
        # Without a session here there is nothing to end at the API.
        with contextlib.suppress(NotSignedIn):
            current_client().logout()
        end_session()
        return flask.redirect(f"{prefix}login", code=303)
