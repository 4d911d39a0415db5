"""A small synchronous client of the REST API, acting for one signed-in user.

The dashboard never holds a password: it trades it for a token pair once
(``password_login``), keeps the pair server-side (``dashboard.sessions``) and calls the
API with the access token. When the access token is about to expire, or the API answers
401, the client uses the refresh token once (refresh tokens are single-use: a second use
revokes the whole session, so refreshing is serialised per session by the caller's lock).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

API_PREFIX = "/api/v1"
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
REFRESH_MARGIN_SECONDS = 60.0  # refresh when the access token has less left than this


class ApiError(Exception):
    """The API answered with an error (``status``, ``code`` and ``message`` from its body)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message

    @classmethod
    def from_response(cls, response: httpx.Response) -> ApiError:
        code, message = "HTTP_ERROR", response.reason_phrase or "request failed"
        try:
            error = response.json().get("error") or {}
            code = str(error.get("code") or code)
            message = str(error.get("message") or message)
        except (ValueError, AttributeError):
            pass
        return cls(response.status_code, code, message)


class NotSignedIn(Exception):
    """No session, or its tokens can no longer be used: sign in again."""


@dataclass
class Tokens:
    """One user's token pair and what the API said about it."""

    access_token: str
    refresh_token: str
    expires_at: float  # time.time() of the access token's expiry
    role: str
    subject: str

    @classmethod
    def from_grant(cls, data: Mapping[str, Any], subject: str, now: float | None = None) -> Tokens:
        issued = time.time() if now is None else now
        return cls(
            access_token=str(data["access_token"]),
            refresh_token=str(data.get("refresh_token") or ""),
            expires_at=issued + float(data.get("expires_in") or 0),
            role=str(data.get("role") or "viewer"),
            subject=subject,
        )

    def fresh(self, margin: float = REFRESH_MARGIN_SECONDS) -> bool:
        return time.time() + margin < self.expires_at


def _client(base_url: str, transport: httpx.BaseTransport | None = None) -> httpx.Client:
    # trust_env=False: the API is ours and local; HTTP(S)_PROXY must not reroute it.
    return httpx.Client(
        base_url=base_url.rstrip("/"), timeout=TIMEOUT, trust_env=False, transport=transport
    )


def password_login(
    base_url: str,
    email: str,
    password: str,
    *,
    forwarded_for: str | None = None,
    transport: httpx.BaseTransport | None = None,
) -> Tokens:
    """``POST /auth/token`` with the password grant; the token pair, or ``ApiError``."""
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    with _client(base_url, transport) as http:
        response = http.post(
            f"{API_PREFIX}/auth/token",
            json={"username": email, "password": password},
            headers=headers,
        )
    if response.status_code != 200:
        raise ApiError.from_response(response)
    return Tokens.from_grant(response.json()["data"], subject=email)


@dataclass
class ApiClient:
    """The API as one user sees it. ``on_tokens`` is told about every rotated pair."""

    base_url: str
    tokens: Tokens
    lock: threading.Lock = field(default_factory=threading.Lock)
    on_tokens: Callable[[Tokens], None] | None = None
    transport: httpx.BaseTransport | None = None

    # -- tokens ----------------------------------------------------------------------

    def _refresh(self, stale_access: str) -> None:
        """Rotate the pair, unless another thread did while we waited for the lock."""
        if self.tokens.access_token != stale_access:
            return
        if not self.tokens.refresh_token:
            raise NotSignedIn("no refresh token")
        with _client(self.base_url, self.transport) as http:
            response = http.post(
                f"{API_PREFIX}/auth/refresh", json={"refresh_token": self.tokens.refresh_token}
            )
        if response.status_code != 200:
            raise NotSignedIn(str(ApiError.from_response(response)))
        self.tokens = Tokens.from_grant(response.json()["data"], subject=self.tokens.subject)
        if self.on_tokens is not None:
            self.on_tokens(self.tokens)

    def access_token(self, margin: float = REFRESH_MARGIN_SECONDS) -> Tokens:
        """The current pair, refreshed first when the access token is close to expiry."""
        with self.lock:
            if not self.tokens.fresh(margin):
                self._refresh(self.tokens.access_token)
            return self.tokens

    # -- requests --------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """One API call with a valid access token; a 401 is retried once after a refresh."""
        clean = {k: v for k, v in (params or {}).items() if v is not None and v != ""}
        for attempt in (1, 2):
            access = self.access_token().access_token
            with _client(self.base_url, self.transport) as http:
                response = http.request(
                    method,
                    f"{API_PREFIX}{path}",
                    params=clean,
                    json=json,
                    headers={**(headers or {}), "Authorization": f"Bearer {access}"},
                )
            if response.status_code != 401:
                return response
            if attempt == 1:
                with self.lock:
                    self._refresh(access)
        raise NotSignedIn(str(ApiError.from_response(response)))

    def get(self, path: str, **params: Any) -> Any:
        """``GET`` the path; the whole JSON body (``data`` and ``meta``)."""
        response = self.request("GET", path, params=params)
        if response.status_code != 200:
            raise ApiError.from_response(response)
        return response.json()

    def post(self, path: str, body: Any = None, headers: Mapping[str, str] | None = None) -> Any:
        response = self.request("POST", path, json=body, headers=headers)
        if response.status_code >= 400:
            raise ApiError.from_response(response)
        return response.json() if response.content else None

    def logout(self) -> None:
        """End the API session (its access token and refresh family); errors are ignored."""
        with _client(self.base_url, self.transport) as http, contextlib.suppress(httpx.HTTPError):
            http.post(
                f"{API_PREFIX}/auth/logout",
                headers={"Authorization": f"Bearer {self.tokens.access_token}"},
            )

    # -- the calls the pages make ------------------------------------------------------

    def me(self) -> dict[str, Any]:
        return dict(self.get("/auth/me")["data"])

    def apps_page(
        self, page: int = 1, per_page: int = 100, sort: str = "id", **filters: Any
    ) -> dict[str, Any]:
        """One page of ``GET /apps``: ``data`` (the apps) and ``meta`` (``total``…)."""
        return dict(self.get("/apps", page=page, per_page=per_page, sort=sort, **filters))

    def groups(self) -> list[dict[str, Any]]:
        """Every app group with its counts (``GET /groups``): one small request."""
        return list(self.get("/groups")["data"])

    def app(self, app_id: str) -> dict[str, Any]:
        return dict(self.get(f"/apps/{_segment(app_id)}")["data"])

    def runtimes(self, app_id: str, limit: int = 20) -> list[dict[str, Any]]:
        return list(self.get("/runtimes", app=app_id, limit=limit)["data"])

    def logs(self, app_id: str, limit: int = 100) -> list[dict[str, Any]]:
        return list(self.get("/logs", app=app_id, limit=limit)["data"])

    def app_performance(self, app_id: str) -> dict[str, Any]:
        """The app's functions over the API's default window (day buckets, 30 days):
        ``bucket``, ``since``, ``until`` and ``functions``, each with its totals and
        ``points`` per bucket."""
        return dict(self.get(f"/performance/functions/{_segment(app_id)}")["data"])

    def function_history(self, app_id: str) -> list[dict[str, Any]]:
        """Per function of the app: calls, average and longest runtime, task sizes."""
        return list(self.app_performance(app_id)["functions"])

    def function_trends(
        self, since: str | None = None, bucket: str = "hour", app: str | None = None
    ) -> list[dict[str, Any]]:
        """Per function name and bucket from ``since`` (naive UTC ISO) to now: calls, task
        size, average and longest runtime (``GET /performance/functions/trends``)."""
        params = {"from": since, "bucket": bucket, "app": app}
        return list(self.get("/performance/functions/trends", **params)["data"])

    def recent_runtimes(self, since: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """The latest runs of the whole fleet started since ``since``, newest first (one
        page of ``GET /runtimes``)."""
        return list(self.get("/runtimes", limit=limit, **{"from": since})["data"])

    def slowest_functions(self, n: int = 10, period: str | None = None) -> list[dict[str, Any]]:
        """The ``n`` slowest functions over ``period`` (``last_24h``…), or of all time."""
        params: dict[str, Any] = {"n": n} if period is None else {"n": n, "period": period}
        return list(self.get("/performance/functions/slowest", **params)["data"])

    def throughput(self, period: str = "last_24h") -> dict[str, Any]:
        return dict(self.get("/pipelines/throughput", period=period)["data"])

    def pipeline_tasks(self, per_page: int = 100, **filters: Any) -> list[dict[str, Any]]:
        return list(self.get("/pipelines/tasks", per_page=per_page, **filters)["data"])

    def bulk_command(self, app_ids: list[str], command: str) -> dict[str, Any]:
        """``POST /bulk/command`` for exactly these apps; the job (status ``queued``…)."""
        body = {"filter": {"app_ids": app_ids}, "command": command}
        return dict(self.post("/bulk/command", body)["data"])

    def bulk_job(self, job_id: str) -> dict[str, Any]:
        return dict(self.get(f"/bulk/jobs/{_segment(job_id)}")["data"])


def _segment(value: str) -> str:
    """A path segment, percent-encoded (ids are validated by the API anyway)."""
    return quote(value, safe="")
