"""The client's own logic against ``httpx.MockTransport``: credentials, refresh and the
one retry on 401, Retry-After, paging, and the error envelope as one exception."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from dcclient import (
    ApiError,
    ApiKeyAuth,
    Client,
    ClientCredentialsAuth,
    FieldError,
    PasswordAuth,
    TokenAuth,
    Tokens,
)

Handler = Callable[[httpx.Request], httpx.Response]


def ok(data: Any, **meta: Any) -> httpx.Response:
    body: dict[str, Any] = {"data": data}
    if meta:
        body["meta"] = meta
    return httpx.Response(200, json=body)


def error(status: int, code: str, message: str, **extra: Any) -> httpx.Response:
    headers = extra.pop("headers", {})
    return httpx.Response(
        status, json={"error": {"code": code, "message": message, **extra}}, headers=headers
    )


def grant(access: str, refresh: str | None = None, expires_in: int = 1800) -> httpx.Response:
    data = {"access_token": access, "expires_in": expires_in, "role": "operator"}
    if refresh:
        data["refresh_token"] = refresh
    return ok(data)


class Recorder:
    """A mock API: answers from ``handler``, keeps every request."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.handler(request)

    def paths(self) -> list[str]:
        return [f"{r.method} {r.url.path}" for r in self.requests]


def client(handler: Handler, auth: Any = None, **kwargs: Any) -> tuple[Client, Recorder]:
    recorder = Recorder(handler)
    waits: list[float] = kwargs.pop("waits", [])
    api = Client(
        "http://api.test",
        auth,
        transport=httpx.MockTransport(recorder),
        sleep=waits.append,
        **kwargs,
    )
    return api, recorder


# -- credentials ---------------------------------------------------------------------------


def test_api_key_is_sent_as_a_header() -> None:
    api, seen = client(lambda r: ok({"subject": "k", "role": "viewer"}), ApiKeyAuth("dck_abc"))
    assert api.me()["subject"] == "k"
    assert seen.requests[0].headers["X-API-Key"] == "dck_abc"
    assert "Authorization" not in seen.requests[0].headers


def test_password_grant_logs_in_once_then_reuses_the_token() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/auth/token":
            assert json.loads(request.content) == {"username": "ops@x.io", "password": "pw"}
            return grant("A1", "R1")
        assert request.headers["Authorization"] == "Bearer A1"
        return ok({"subject": "ops@x.io"})

    api, seen = client(handler, PasswordAuth("ops@x.io", "pw"))
    api.me()
    api.me()
    assert seen.paths() == ["POST /api/v1/auth/token", "GET /api/v1/auth/me", "GET /api/v1/auth/me"]


def test_client_credentials_use_the_service_grant() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/auth/service":
            body = json.loads(request.content)
            assert body == {"client_id": "copilot", "client_secret": "s3cret-s3cret"}
            return grant("S1")
        return ok({"subject": "copilot"})

    api, seen = client(handler, ClientCredentialsAuth("copilot", "s3cret-s3cret"))
    api.me()
    assert seen.requests[1].headers["Authorization"] == "Bearer S1"


def test_a_401_refreshes_once_and_retries_and_reports_the_new_pair() -> None:
    pairs: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/api/v1/auth/token":
            return grant("A1", "R1")
        if path == "/api/v1/auth/refresh":
            assert json.loads(request.content) == {"refresh_token": "R1"}
            return grant("A2", "R2")
        if request.headers["Authorization"] == "Bearer A1":
            return error(401, "NOT_AUTHENTICATED", "Token revoked.")
        return ok([{"id": "a"}], page=1, per_page=20, total=1, total_pages=1)

    auth = PasswordAuth("ops@x.io", "pw", on_tokens=lambda t: pairs.append(t.refresh_token or ""))
    api, seen = client(handler, auth)
    assert [app["id"] for app in api.apps()] == ["a"]
    assert seen.paths() == [
        "POST /api/v1/auth/token",
        "GET /api/v1/apps",
        "POST /api/v1/auth/refresh",
        "GET /api/v1/apps",
    ]
    assert pairs == ["R1", "R2"]


def test_a_second_401_is_raised_not_retried_forever() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/auth/refresh":
            return grant("A2", "R2")
        return error(401, "NOT_AUTHENTICATED", "No.", request_id="req-1")

    api, seen = client(handler, TokenAuth.from_refresh_token("R0"))
    with pytest.raises(ApiError) as caught:
        api.me()
    assert caught.value.status == 401
    assert caught.value.request_id == "req-1"
    # refresh (token needed), call, refresh after the 401, call again; then give up
    assert seen.paths().count("GET /api/v1/auth/me") == 2


def test_an_expired_access_token_is_refreshed_before_the_call() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/auth/refresh":
            return grant("fresh", "R2")
        assert request.headers["Authorization"] == "Bearer fresh"
        return ok({})

    api, seen = client(handler, TokenAuth.from_refresh_token("R1"))
    api.me()
    assert seen.paths() == ["POST /api/v1/auth/refresh", "GET /api/v1/auth/me"]


def test_a_bare_token_that_is_refused_is_an_auth_error() -> None:
    api, seen = client(
        lambda r: error(401, "NOT_AUTHENTICATED", "Expired."), TokenAuth.from_access_token("T")
    )
    with pytest.raises(ApiError) as caught:
        api.me()
    assert caught.value.status == 401
    assert len(seen.requests) == 1  # nothing to renew with: no second try


def test_a_refresh_that_gets_no_answer_is_unreachable_and_keeps_the_pair() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    auth = TokenAuth(Tokens("A1", "R1", 0.0))  # expired: the next call refreshes first
    api, _ = client(handler, auth)
    with pytest.raises(ApiError) as caught:
        api.me()
    assert (caught.value.status, caught.value.code) == (None, "UNREACHABLE")
    assert auth.tokens == Tokens("A1", "R1", 0.0)  # kept, for when the API is back


def test_current_renews_a_pair_with_less_than_the_margin_left() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v1/auth/refresh"
        return grant("A2", "R2", expires_in=1800)

    soon = time.time() + 100
    auth = TokenAuth(Tokens("A1", "R1", soon))
    api, seen = client(handler, auth)
    assert auth.current(api.http, margin=60).access_token == "A1"  # 100 s left: enough
    assert seen.requests == []
    assert auth.current(api.http, margin=120).access_token == "A2"
    assert seen.paths() == ["POST /api/v1/auth/refresh"]


def test_headers_go_with_every_request_the_grant_included() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["X-Forwarded-For"] == "203.0.113.7"
        return grant("A1", "R1") if request.url.path == "/api/v1/auth/token" else ok({})

    api, seen = client(
        handler, PasswordAuth("ops@x.io", "pw"), headers={"X-Forwarded-For": "203.0.113.7"}
    )
    api.me()
    assert seen.paths() == ["POST /api/v1/auth/token", "GET /api/v1/auth/me"]


def test_patch_sends_the_body_and_returns_the_answer() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert (request.method, request.headers["If-Match"]) == ("PATCH", '"v1"')
        return ok(json.loads(request.content))

    api, _ = client(handler, ApiKeyAuth("k"))
    body = api.patch("/settings", {"timezone": "UTC"}, headers={"If-Match": '"v1"'})
    assert body == {"data": {"timezone": "UTC"}}


def test_health_reads_one_app_and_the_fleet() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return ok({"path": request.url.path})

    api, recorder = client(handler, ApiKeyAuth("k"))
    assert api.app_health("app_1") == {"path": "/api/v1/apps/app_1/health"}
    assert api.fleet_health() == {"path": "/api/v1/health/fleet"}
    assert recorder.paths()[-1] == "GET /api/v1/health/fleet"


# -- Retry-After --------------------------------------------------------------------------


def test_429_waits_as_retry_after_says_then_succeeds() -> None:
    answers = iter(
        [
            error(429, "RATE_LIMITED", "Slow down.", headers={"Retry-After": "2"}),
            error(429, "RATE_LIMITED", "Slow down.", headers={"Retry-After": "1"}),
            ok({"status": "ok"}),
        ]
    )
    waits: list[float] = []
    api, seen = client(lambda r: next(answers), ApiKeyAuth("k"), waits=waits)
    assert api.get("/system/metrics") == {"data": {"status": "ok"}}
    assert waits == [2.0, 1.0]
    assert len(seen.requests) == 3


def test_retries_are_bounded_in_number_and_length() -> None:
    busy = error(503, "SERVICE_UNAVAILABLE", "Broker down.", headers={"Retry-After": "5"})
    waits: list[float] = []
    api, seen = client(lambda r: busy, ApiKeyAuth("k"), waits=waits, max_retries=2)
    with pytest.raises(ApiError) as caught:
        api.post("/apps/a/start")
    assert caught.value.status == 503
    assert waits == [5.0, 5.0]
    assert len(seen.requests) == 3

    too_long = error(429, "RATE_LIMITED", "Later.", headers={"Retry-After": "3600"})
    waits.clear()
    api, seen = client(lambda r: too_long, ApiKeyAuth("k"), waits=waits)
    with pytest.raises(ApiError):
        api.me()
    assert waits == []
    assert len(seen.requests) == 1


def test_a_503_without_retry_after_is_not_repeated() -> None:
    waits: list[float] = []
    api, seen = client(lambda r: error(503, "UNAVAILABLE", "Down."), ApiKeyAuth("k"), waits=waits)
    with pytest.raises(ApiError):
        api.post("/bulk/start", {"filter": {"group": "x"}})
    assert (len(seen.requests), waits) == (1, [])


def test_max_retries_0_never_waits() -> None:
    busy = error(429, "RATE_LIMITED", "Slow down.", headers={"Retry-After": "1"})
    waits: list[float] = []
    api, seen = client(lambda r: busy, ApiKeyAuth("k"), waits=waits, max_retries=0)
    with pytest.raises(ApiError) as caught:
        api.me()
    assert (caught.value.status, len(seen.requests), waits) == (429, 1, [])


# -- paging ---------------------------------------------------------------------------------


def test_offset_pages_are_followed_to_the_last() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        assert request.url.params["group"] == "de"
        assert "status" not in request.url.params  # unset filters are not sent
        return ok([{"id": f"p{page}"}], page=page, per_page=1, total=3, total_pages=3)

    api, _ = client(handler, ApiKeyAuth("k"))
    assert [a["id"] for a in api.apps(group="de", status=None, per_page=1)] == ["p1", "p2", "p3"]


def test_cursor_pages_are_followed_until_next_cursor_is_null() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        cursor = request.url.params.get("cursor")
        nxt = {None: "c1", "c1": "c2", "c2": None}[cursor]
        return ok([{"id": cursor or "first"}], limit=1, next_cursor=nxt)

    api, seen = client(handler, ApiKeyAuth("k"))
    assert [r["id"] for r in api.logs(app="a*")] == ["first", "c1", "c2"]
    assert all(r.url.params["app"] == "a*" for r in seen.requests)


def test_booleans_are_sent_as_the_api_spells_them() -> None:
    api, seen = client(lambda r: ok([], page=1, per_page=20, total=0, total_pages=0), None)
    list(api.dead_jobs(requeued=False))
    assert seen.requests[0].url.params["requeued"] == "false"


# -- errors -------------------------------------------------------------------------------


def test_the_error_envelope_becomes_one_exception_with_everything_in_it() -> None:
    answer = error(
        422,
        "VALIDATION_ERROR",
        "Invalid body.",
        details=[{"field": "filter.group", "message": "too long"}],
        request_id="abc-123",
    )
    api, _ = client(lambda r: answer, ApiKeyAuth("k"))
    with pytest.raises(ApiError) as caught:
        api.bulk("start", {"group": "x" * 100})
    exc = caught.value
    assert (exc.status, exc.code, exc.message) == (422, "VALIDATION_ERROR", "Invalid body.")
    assert exc.details == [FieldError("filter.group", "too long")]
    assert exc.request_id == "abc-123"
    assert "filter.group: too long" in str(exc)


def test_a_body_that_is_not_an_envelope_still_gives_an_api_error() -> None:
    answer = httpx.Response(502, text="<html>Bad gateway</html>", headers={"X-Request-ID": "r9"})
    api, _ = client(lambda r: answer, ApiKeyAuth("k"))
    with pytest.raises(ApiError) as caught:
        api.me()
    assert (caught.value.status, caught.value.code, caught.value.request_id) == (
        502,
        "HTTP_ERROR",
        "r9",
    )


def test_no_answer_is_an_api_error_without_status() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    api, _ = client(refuse, ApiKeyAuth("k"))
    with pytest.raises(ApiError) as caught:
        api.me()
    assert caught.value.status is None
    assert caught.value.code == "UNREACHABLE"


def test_the_unhealthy_503_is_an_answer_not_an_error() -> None:
    api, _ = client(lambda r: httpx.Response(503, json={"data": {"status": "unhealthy"}}), None)
    assert api.health() == (False, {"status": "unhealthy"})


def test_credentials_do_not_show_in_reprs() -> None:
    for auth in (ApiKeyAuth("dck_secret"), PasswordAuth("a@b.c", "hunter2-long")):
        assert "secret" not in repr(auth)
        assert "hunter2" not in repr(auth)
