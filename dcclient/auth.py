"""How the client proves who it is: an API key, or a bearer token kept fresh.

Every strategy gives the headers of the next request and may *renew* its credential
once after a 401. Token strategies renew with the refresh token when they have one
(refresh tokens are single-use: each refresh returns a new pair, reported to
``on_tokens`` so a caller can persist it), else by logging in again with what they were
given (password, client secret). The password and client secret stay in memory only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from dcclient.errors import ApiError

API_PREFIX = "/api/v1"
REFRESH_MARGIN_SECONDS = 30.0  # renew an access token this close to its expiry


@dataclass(frozen=True)
class Tokens:
    """An access token, the refresh token that came with it (users only) and its expiry."""

    access_token: str
    refresh_token: str | None
    expires_at: float  # time.time() of the access token's expiry; inf when unknown
    role: str | None = None

    @classmethod
    def from_grant(cls, data: Mapping[str, Any], now: float | None = None) -> Tokens:
        issued = time.time() if now is None else now
        return cls(
            access_token=str(data["access_token"]),
            refresh_token=str(data["refresh_token"]) if data.get("refresh_token") else None,
            expires_at=issued + float(data.get("expires_in") or 0),
            role=str(data["role"]) if data.get("role") else None,
        )

    def fresh(self, margin: float = REFRESH_MARGIN_SECONDS) -> bool:
        return time.time() + margin < self.expires_at


class Auth(Protocol):
    """What the client needs from a credential."""

    def headers(self, http: httpx.Client) -> dict[str, str]:
        """Headers for the next request (may log in or refresh first)."""

    def renew(self, http: httpx.Client, sent: Mapping[str, str]) -> bool:
        """After a 401 to a request sent with ``sent``: True when a new credential is
        ready to retry with."""

    def websocket_auth(self, http: httpx.Client) -> dict[str, str]:
        """The credential fields of the WebSocket ``auth`` message."""


class ApiKeyAuth:
    """``X-API-Key``: nothing to renew."""

    def __init__(self, key: str) -> None:
        self._key = key

    def headers(self, http: httpx.Client) -> dict[str, str]:
        return {"X-API-Key": self._key}

    def renew(self, http: httpx.Client, sent: Mapping[str, str]) -> bool:
        return False

    def websocket_auth(self, http: httpx.Client) -> dict[str, str]:
        return {"api_key": self._key}

    def __repr__(self) -> str:
        return "ApiKeyAuth(<hidden>)"


class TokenAuth:
    """A bearer token pair, refreshed when close to expiry and once after a 401.

    On its own (``TokenAuth(tokens=...)`` or ``TokenAuth.from_refresh_token``) it can
    only refresh; the subclasses also know how to log in from scratch.
    """

    def __init__(
        self,
        tokens: Tokens | None = None,
        *,
        on_tokens: Callable[[Tokens], None] | None = None,
    ) -> None:
        self.tokens = tokens
        self.on_tokens = on_tokens
        # Refresh tokens are single-use: two threads refreshing at once would revoke the
        # session, so renewals are serialised.
        self._lock = threading.Lock()

    @classmethod
    def from_refresh_token(
        cls, refresh_token: str, *, on_tokens: Callable[[Tokens], None] | None = None
    ) -> TokenAuth:
        """Start from a stored refresh token (a ``dcctl login`` profile): the first
        request refreshes it into a pair."""
        return cls(Tokens("", refresh_token, 0.0), on_tokens=on_tokens)

    @classmethod
    def from_access_token(cls, access_token: str) -> TokenAuth:
        """A bare access token (``DCCTL_TOKEN``): used until the API refuses it."""
        return cls(Tokens(access_token, None, float("inf")))

    # -- what subclasses override --------------------------------------------------------

    def login(self, http: httpx.Client) -> Tokens:
        """A new pair from scratch; a bare token cannot, so its 401 stands."""
        raise ApiError(401, "NOT_AUTHENTICATED", "The token is expired or revoked; log in again.")

    # -- the protocol --------------------------------------------------------------------

    def current(self, http: httpx.Client, margin: float = REFRESH_MARGIN_SECONDS) -> Tokens:
        """The pair, renewed first when its access token has less than ``margin`` seconds
        left (e.g. a token handed to a browser's WebSocket must outlive its handshake)."""
        with self._lock:
            if self.tokens is None or not self.tokens.fresh(margin):
                self._renew(http)
            assert self.tokens is not None
            return self.tokens

    def headers(self, http: httpx.Client) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.current(http).access_token}"}

    def renew(self, http: httpx.Client, sent: Mapping[str, str]) -> bool:
        with self._lock:
            current = self.tokens.access_token if self.tokens else None
            if current is not None and sent.get("Authorization") != f"Bearer {current}":
                return True  # another thread renewed while this request was out
            if self.tokens is not None and not self.tokens.refresh_token and not self._can_login:
                return False
            self._renew(http)
            return True

    def websocket_auth(self, http: httpx.Client) -> dict[str, str]:
        token = self.headers(http)["Authorization"].removeprefix("Bearer ")
        return {"token": token}

    # -- inside ----------------------------------------------------------------------------

    @property
    def _can_login(self) -> bool:
        return type(self).login is not TokenAuth.login

    def _renew(self, http: httpx.Client) -> None:
        refresh = self.tokens.refresh_token if self.tokens else None
        if refresh:
            try:
                response = http.post(f"{API_PREFIX}/auth/refresh", json={"refresh_token": refresh})
            except httpx.TransportError as exc:  # the pair stays: try again later
                raise ApiError.unreachable(exc) from None
            if response.status_code == 200:
                self._set(Tokens.from_grant(response.json()["data"]))
                return
            if not self._can_login:
                raise ApiError.from_response(response)
        self._set(self.login(http))

    def _set(self, tokens: Tokens) -> None:
        self.tokens = tokens
        if self.on_tokens is not None:
            self.on_tokens(tokens)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<hidden>)"


class PasswordAuth(TokenAuth):
    """The password grant (``POST /auth/token``) for a person."""

    def __init__(
        self,
        username: str,
        password: str,
        *,
        on_tokens: Callable[[Tokens], None] | None = None,
    ) -> None:
        super().__init__(on_tokens=on_tokens)
        self.username = username
        self._password = password

    def login(self, http: httpx.Client) -> Tokens:
        return _grant(http, "/auth/token", {"username": self.username, "password": self._password})


class ClientCredentialsAuth(TokenAuth):
    """A service client (``POST /auth/service``): no refresh token, it logs in again."""

    def __init__(self, client_id: str, client_secret: str) -> None:
        super().__init__()
        self.client_id = client_id
        self._secret = client_secret

    def login(self, http: httpx.Client) -> Tokens:
        return _grant(
            http, "/auth/service", {"client_id": self.client_id, "client_secret": self._secret}
        )


def _grant(http: httpx.Client, path: str, body: dict[str, str]) -> Tokens:
    try:
        response = http.post(f"{API_PREFIX}{path}", json=body)
    except httpx.TransportError as exc:
        raise ApiError.unreachable(exc) from None
    if response.status_code != 200:
        raise ApiError.from_response(response)
    return Tokens.from_grant(response.json()["data"])
