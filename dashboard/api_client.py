"""The dashboard's side of the API: one ``dcclient`` client per signed-in session.

The dashboard never holds a password: it trades it for a token pair once
(``password_login``), keeps the pair server-side (``dashboard.sessions``) in an
``ApiClient`` whose ``dcclient.Client`` calls the API with the access token. dcclient
refreshes the pair when the access token is about to expire, or once after a 401
(refresh tokens are single-use: its ``TokenAuth`` serialises the refresh per session).

Every failure is translated here, once (``DashboardApi.request``), and reported to
``dashboard.api_status``: no answer, a 5xx or a 429 raise ``ApiUnavailable`` (a callback
never sleeps on ``Retry-After``: ``max_retries=0``; the page keeps its data, the outage
banner says so and the next tick tries again), a 401 that a refresh cannot cure raises
``NotSignedIn`` (back to the login form), any other error answer is dcclient's
``ApiError``. An outage during a refresh is ``ApiUnavailable`` (the pair is kept), not
a sign-out.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection, Mapping
from typing import Any
from urllib.parse import quote

import httpx

from dashboard import api_status
from dcclient import ApiError, Client, PasswordAuth, TokenAuth, Tokens

__all__ = [
    "ApiClient",
    "ApiError",
    "ApiUnavailable",
    "DashboardApi",
    "NotSignedIn",
    "Tokens",
    "password_login",
]

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
USER_AGENT = "dc-dashboard"
UNREACHABLE = "The API is unreachable."


class ApiUnavailable(ApiError):
    """The API could not be reached, or answered 5xx or 429: worth trying again later.

    Callers show ``message`` (never the transport's text: it may name hosts and ports)."""


class NotSignedIn(Exception):
    """No session, or its tokens can no longer be used: sign in again."""


def _translated(error: ApiError) -> Exception:
    """What a callback sees of ``error``, after telling ``api_status`` whether the API is
    answering."""
    if error.status is None:
        api_status.mark_down(UNREACHABLE)
        return ApiUnavailable(None, "UNREACHABLE", UNREACHABLE, request_id=error.request_id)
    if error.status >= 500 or error.status == 429:
        if error.status == 429:
            reason = "The API is rate limiting the dashboard."
        else:
            reason = f"The API answered {error.status}: {error.message}"
        api_status.mark_down(reason)
        return ApiUnavailable(error.status, error.code, reason, request_id=error.request_id)
    api_status.mark_up()
    if error.status == 401:
        return NotSignedIn(str(error))
    return error


class DashboardApi(Client):
    """``dcclient.Client`` with the dashboard's translation of failures (module doc)."""

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        accept: Collection[int] = (),
    ) -> httpx.Response:
        try:
            response = super().request(
                method, path, params=params, json=json, headers=headers, accept=accept
            )
        except ApiError as exc:
            raise _translated(exc) from None
        api_status.mark_up()
        return response


def password_login(
    base_url: str,
    email: str,
    password: str,
    *,
    forwarded_for: str | None = None,
    transport: httpx.BaseTransport | None = None,
) -> Tokens:
    """``POST /auth/token`` with the password grant; the token pair, or ``ApiError``
    (``status`` None: the API could not be reached). ``forwarded_for`` is the browser's
    address, sent as ``X-Forwarded-For`` for the API's sign-in throttle."""
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else None
    with Client(
        base_url,
        transport=transport,
        timeout=TIMEOUT,
        max_retries=0,
        user_agent=USER_AGENT,
        headers=headers,
    ) as api:
        return PasswordAuth(email, password).login(api.http)


class ApiClient:
    """The API as one signed-in user sees it: their session's client (tokens, pooled
    connections) and the calls the pages make. ``on_tokens`` is told about every
    rotated pair."""

    def __init__(
        self,
        base_url: str,
        tokens: Tokens,
        subject: str = "",
        *,
        on_tokens: Callable[[Tokens], None] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.subject = subject  # the email the user signed in with
        self.auth = TokenAuth(tokens, on_tokens=on_tokens)
        # One pooled HTTP client per signed-in user, kept for the session: building an
        # httpx.Client loads an SSL context (tens to hundreds of ms), and a kept
        # connection spares a TCP handshake per call (bench/dashboard_refresh.py).
        # httpx.Client is thread-safe; Werkzeug's and gunicorn's threads share it.
        self.api = DashboardApi(
            base_url,
            self.auth,
            transport=transport,
            timeout=TIMEOUT,
            max_retries=0,
            user_agent=USER_AGENT,
        )
        self.cached_timezone: str | None = None
        # the grid's last good answers by request (callbacks/apps_table.py): shown again,
        # greyed, while the API is down, so the rows stay and the grid is never left waiting
        self.last_blocks: dict[str, Any] = {}

    def close(self) -> None:
        self.api.close()

    # -- tokens ----------------------------------------------------------------------

    @property
    def tokens(self) -> Tokens:
        assert self.auth.tokens is not None  # given at construction, only ever replaced
        return self.auth.tokens

    @property
    def role(self) -> str:
        return self.tokens.role or "viewer"

    def access_token(self, margin: float) -> Tokens:
        """The current pair, refreshed first when the access token has less than
        ``margin`` seconds left (a token handed to the browser's WebSocket)."""
        try:
            return self.auth.current(self.api.http, margin)
        except ApiError as exc:
            raise _translated(exc) from None

    # -- requests --------------------------------------------------------------------

    def get(self, path: str, **params: Any) -> Any:
        """``GET`` the path; the whole JSON body (``data`` and ``meta``)."""
        return self.api.get(path, **params)

    def post(self, path: str, body: Any = None, headers: Mapping[str, str] | None = None) -> Any:
        return self.api.post(path, body, headers=headers)

    def logout(self) -> None:
        """End the API session (its access token and refresh family); errors are ignored.
        The pooled connections are closed with the session (``SessionStore.drop``)."""
        with contextlib.suppress(ApiError, NotSignedIn):
            self.api.logout()

    # -- the calls the pages make ------------------------------------------------------

    def me(self) -> dict[str, Any]:
        return self.api.me()

    def apps_page(
        self, page: int = 1, per_page: int = 100, sort: str = "id", **filters: Any
    ) -> dict[str, Any]:
        """One page of ``GET /apps``: ``data`` (the apps) and ``meta`` (``total``…)."""
        return dict(self.get("/apps", page=page, per_page=per_page, sort=sort, **filters))

    def groups(self) -> list[dict[str, Any]]:
        """Every app group with its counts (``GET /groups``): one small request."""
        return list(self.get("/groups")["data"])

    def app(self, app_id: str) -> dict[str, Any]:
        return self.api.app(app_id)

    def runtimes(self, app_id: str, limit: int = 20) -> list[dict[str, Any]]:
        return list(self.get("/runtimes", app=app_id, limit=limit)["data"])

    def runtime(self, runtime_id: str) -> dict[str, Any]:
        return self.api.runtime(runtime_id)

    def logs(self, app_id: str, limit: int = 100, **filters: Any) -> list[dict[str, Any]]:
        """The app's log records newest first; ``runtime``, ``level``, ``search``…"""
        return list(self.get("/logs", app=app_id, limit=limit, **filters)["data"])

    def function_logs(
        self, app_id: str, since: str | None = None, until: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """The app's timed function calls (``GET /performance/functions``) in a window."""
        params = {"app": app_id, "from": since, "to": until, "limit": limit}
        return list(self.get("/performance/functions", **params)["data"])

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

    def recent_runs(self, app_ids: list[str], per_app: int = 10) -> dict[str, list[Any]]:
        """The last ``per_app`` runs of each app, newest first: one call for a grid page."""
        if not app_ids:
            return {}
        body = self.get("/runtimes/recent", app_ids=",".join(app_ids), per_app=per_app)
        return dict(body["data"])

    def user_settings(self) -> dict[str, Any]:
        return dict(self.get("/settings")["data"])

    def update_user_settings(self, changes: dict[str, Any]) -> dict[str, Any]:
        return dict(self.api.patch("/settings", changes)["data"])

    def timezone(self) -> str:
        """The user's time zone setting, read once per session (changing it here resets
        the cached value)."""
        if self.cached_timezone is None:
            self.cached_timezone = str(self.user_settings().get("timezone") or "UTC")
        return self.cached_timezone

    def app_with_etag(self, app_id: str) -> tuple[dict[str, Any], str]:
        """The app's detail and its ETag (for ``If-Match`` on PATCH)."""
        response = self.api.request("GET", f"/apps/{_segment(app_id)}")
        return dict(response.json()["data"]), response.headers.get("ETag", "")

    def update_app(self, app_id: str, changes: dict[str, Any], etag: str) -> tuple[Any, str]:
        """``PATCH /apps/{id}`` with ``If-Match``; ``ApiError`` 412 when it changed since."""
        path = f"/apps/{_segment(app_id)}"
        response = self.api.request("PATCH", path, json=changes, headers={"If-Match": etag})
        return dict(response.json()["data"]), response.headers.get("ETag", "")

    def app_command(self, app_id: str, verb: str) -> dict[str, Any]:
        """``POST /apps/{id}/start|stop|reset``: the accepted command."""
        return dict(self.post(f"/apps/{_segment(app_id)}/{_segment(verb)}")["data"])

    def bulk_dry_run(self, app_ids: list[str], command: str) -> dict[str, Any]:
        """How many of these apps the command would touch, without doing it."""
        body = {"filter": {"app_ids": app_ids}, "command": command, "dry_run": True}
        return dict(self.post("/bulk/command", body)["data"])

    def bulk_job(self, job_id: str) -> dict[str, Any]:
        return self.api.bulk_job(job_id)

    # -- Data Processor and admin pages (docs/dashboard.md) ------------------------------

    def pipeline_stages(self, period: str = "last_24h") -> dict[str, Any]:
        """The stage matrix: per document type, a cell per stage with status counts."""
        return dict(self.get("/pipelines/stages", period=period)["data"])

    def pipeline_errors(self, period: str = "last_24h", limit: int = 5) -> dict[str, Any]:
        return dict(self.get("/pipelines/errors", period=period, limit=limit)["data"])

    def channels(self) -> list[dict[str, Any]]:
        return list(self.get("/notifications/channels", per_page=100)["data"])

    def create_channel(self, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self.post("/notifications/channels", body)["data"])

    def update_channel(self, channel_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        path = f"/notifications/channels/{_segment(str(channel_id))}"
        return dict(self.api.patch(path, changes)["data"])

    def test_channel(self, channel_id: int) -> dict[str, Any]:
        """Queue a test send; the queued delivery (follow it in the history)."""
        return self.api.notify_test(channel_id)

    def deliveries(self, channel_id: int | None = None, limit: int = 50) -> list[dict[str, Any]]:
        return list(self.get("/notifications/history", channel_id=channel_id, limit=limit)["data"])

    def activity(self, limit: int = 50, **filters: Any) -> dict[str, Any]:
        """One page of the audit feed: ``data`` and ``meta.next_cursor``."""
        return dict(self.get("/activity", limit=limit, **filters))

    def dead_jobs(self, per_page: int = 100) -> list[dict[str, Any]]:
        return list(self.get("/jobs/dead", per_page=per_page)["data"])

    def requeue_dead_job(self, job_id: int) -> dict[str, Any]:
        return self.api.requeue(job_id)

    # -- health, agents and queues (docs/health.md, docs/operations.md) ----------------

    def app_health(self, app_id: str) -> dict[str, Any]:
        """``GET /apps/{id}/health``: baseline, thresholds, verdicts now, their history."""
        return self.api.app_health(app_id)

    def fleet_health(self) -> dict[str, Any]:
        """``GET /health/fleet``: per verdict, how many apps hold it and which."""
        return self.api.fleet_health()

    def agents(self) -> list[dict[str, Any]]:
        """``GET /system/agents``: every agent, online ones first."""
        return self.api.agents()

    def queues(self) -> dict[str, Any]:
        """``GET /system/queues``: the queues' depths, the outbox backlog, read errors."""
        return self.api.queues()


def _segment(value: str) -> str:
    """A path segment, percent-encoded (ids are validated by the API anyway)."""
    return quote(value, safe="")
