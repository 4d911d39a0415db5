"""What every dashboard response and request goes through: headers, CSRF, the sign-in gate.

- **Headers**: a Content-Security-Policy that allows scripts from this origin plus the hash
  of Dash's one inline bootstrap script (no ``'unsafe-eval'``, no CDN); styles also inline
  (AG Grid injects its theme as ``<style>`` elements); ``connect-src`` adds the API's
  WebSocket origin for the live log panel. ``X-Frame-Options: DENY``, ``nosniff``,
  ``Referrer-Policy``, and ``Cache-Control: no-store`` on pages and callbacks.
- **CSRF**: the session cookie is ``SameSite=Strict``, and any request that changes state
  (every non-GET: the login and logout forms, Dash callbacks) must come from this origin:
  its ``Origin`` must name this host, or, without ``Origin``, ``Sec-Fetch-Site`` must not
  say ``cross-site``/``same-site``.
- **Gate**: every page but the login page needs a session (redirect to the login page);
  Dash's callbacks ask for it themselves; static files need none.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import quote, urlsplit

import flask

from dashboard.sessions import signed_in

# Static files, the login page, and Dash's own endpoints: its layout and dependency list are
# the same for everyone, and each callback asks for the session itself (and a lost session
# sends the page to the login form: dashboard/callbacks/session.py).
PUBLIC_SUFFIXES = (
    "login",
    "assets/",
    "_dash-component-suites/",
    "_favicon.ico",
    "_dash-update-component",
    "_dash-layout",
    "_dash-dependencies",
    "_reload-hash",
)


def websocket_origin(public_api_url: str) -> str:
    """``ws(s)://host[:port]`` of the API the browser talks to."""
    parts = urlsplit(public_api_url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return f"{scheme}://{parts.netloc}"


def content_security_policy(script_hashes: Iterable[str], websocket: str) -> str:
    scripts = " ".join(h if h.startswith("'") else f"'{h}'" for h in script_hashes)
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' {scripts}".rstrip(),
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self' data:",
            f"connect-src 'self' {websocket}",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def same_origin(request: flask.Request) -> bool:
    """Whether a state-changing request comes from a page of this dashboard."""
    origin = request.headers.get("Origin")
    if origin is not None:
        return urlsplit(origin).netloc.lower() == (request.host or "").lower()
    return request.headers.get("Sec-Fetch-Site", "same-origin") in {"same-origin", "none"}


def install(server: flask.Flask, prefix: str, csp: list[str]) -> None:
    """Register the gate and the headers on ``server``; ``csp`` is filled in once the
    Dash app knows its inline-script hashes (a one-element list read at response time)."""

    @server.before_request
    def _gate() -> flask.typing.ResponseReturnValue | None:
        request = flask.request
        if request.method not in {"GET", "HEAD", "OPTIONS"} and not same_origin(request):
            return flask.Response("Cross-origin request refused.\n", status=403)
        path = request.path
        if path in {"/", prefix.rstrip("/")}:
            return flask.redirect(prefix)
        if not path.startswith(prefix):
            return None
        rest = path[len(prefix) :]
        if rest.startswith(PUBLIC_SUFFIXES):
            return None
        if signed_in():
            return None
        target = quote(request.full_path.rstrip("?"), safe="/")
        return flask.redirect(f"{prefix}login?next={target}")

    @server.after_request
    def _headers(response: flask.Response) -> flask.Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", csp[0])
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        rest = flask.request.path[len(prefix) :]
        if not rest.startswith(("assets/", "_dash-component-suites/")):
            headers["Cache-Control"] = "no-store"
        return response
