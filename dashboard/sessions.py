"""Signed-in users' API tokens, kept server-side; the browser's cookie holds only an id.

The Flask session (a signed, HttpOnly, SameSite=Strict cookie) carries a random session id,
and the token pair lives here, in this process, beside a lock that serialises its refresh
(refresh tokens are single-use; two concurrent refreshes would end the session). One
dashboard process therefore serves many threads but not several worker processes: run
gunicorn with ``--workers 1 --threads N`` (docs/dashboard.md). A restart signs everyone out.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass

import flask

from dashboard.api_client import ApiClient, NotSignedIn, Tokens

IDLE_LIMIT_SECONDS = 7 * 24 * 3600  # the API's longest refresh-token life; older is useless
EXTENSION = "dc_dashboard_sessions"


@dataclass
class _Entry:
    client: ApiClient
    used: float


class SessionStore:
    """Session id → the user's ``ApiClient`` (tokens, lock)."""

    def __init__(self, api_url: str) -> None:
        self.api_url = api_url
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def create(self, tokens: Tokens, subject: str) -> str:
        """A new session for ``subject`` (the email signed in with) holding ``tokens``."""
        sid = secrets.token_urlsafe(32)
        now = time.monotonic()
        with self._lock:
            stale = [k for k, e in self._entries.items() if now - e.used > IDLE_LIMIT_SECONDS]
            for key in stale:
                self._entries.pop(key).client.close()  # its pooled connections too
            self._entries[sid] = _Entry(ApiClient(self.api_url, tokens, subject), now)
        return sid

    def client(self, sid: str | None) -> ApiClient | None:
        if not sid:
            return None
        with self._lock:
            entry = self._entries.get(sid)
            if entry is None:
                return None
            entry.used = time.monotonic()
            return entry.client

    def drop(self, sid: str | None) -> ApiClient | None:
        if not sid:
            return None
        with self._lock:
            entry = self._entries.pop(sid, None)
        if entry is not None:
            entry.client.close()
        return entry.client if entry else None

    def __len__(self) -> int:
        return len(self._entries)


def store() -> SessionStore:
    return flask.current_app.extensions[EXTENSION]  # type: ignore[no-any-return]


def current_client() -> ApiClient:
    """The signed-in user's client, or ``NotSignedIn``."""
    client = store().client(flask.session.get("sid"))
    if client is None:
        raise NotSignedIn("no session")
    return client


def signed_in() -> bool:
    return store().client(flask.session.get("sid")) is not None


def end_session() -> None:
    """Forget this browser's session here (the API session is ended by the caller)."""
    store().drop(flask.session.get("sid"))
    flask.session.clear()


def current_role() -> str | None:
    client = store().client(flask.session.get("sid"))
    return client.role if client else None


def is_admin() -> bool:
    """Whether the user is an admin: app configuration (PATCH) and the admin pages."""
    return current_role() == "admin"


def can_command() -> bool:
    """Whether the user's role may issue commands (the API enforces it anyway)."""
    return current_role() in {"operator", "admin"}
