"""The dashboard's layer over dcclient against ``httpx.MockTransport``: failures translated
once (ApiUnavailable, NotSignedIn, ApiError) and reported to ``api_status``, no sleeping on
Retry-After, the browser's address forwarded at sign-in."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from dashboard import api_status
from dashboard.api_client import (
    ApiClient,
    ApiError,
    ApiUnavailable,
    NotSignedIn,
    Tokens,
    password_login,
)

URL = "http://api.test"
Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture(autouse=True)
def _api_up() -> Iterator[None]:
    api_status.mark_up()
    yield
    api_status.mark_up()


def envelope(status: int, code: str, message: str, **headers: str) -> httpx.Response:
    body = {"error": {"code": code, "message": message}}
    return httpx.Response(status, json=body, headers=headers)


def grant(access: str, refresh: str) -> httpx.Response:
    data = {"access_token": access, "refresh_token": refresh, "expires_in": 1800, "role": "admin"}
    return httpx.Response(200, json={"data": data})


def session(handler: Handler, expires_at: float | None = None) -> tuple[ApiClient, list[str]]:
    seen: list[str] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url.path}")
        return handler(request)

    tokens = Tokens("A1", "R1", time.time() + 1800 if expires_at is None else expires_at, "admin")
    client = ApiClient(URL, tokens, "ops@x.io", transport=httpx.MockTransport(record))
    return client, seen


def test_sign_in_forwards_the_browsers_address() -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return grant("A1", "R1")

    mock = httpx.MockTransport(handler)
    tokens = password_login(URL, "ops@x.io", "pw", forwarded_for="203.0.113.9", transport=mock)
    assert (tokens.access_token, tokens.role) == ("A1", "admin")
    assert sent[0].headers["X-Forwarded-For"] == "203.0.113.9"
    password_login(URL, "ops@x.io", "pw", transport=mock)
    assert "X-Forwarded-For" not in sent[1].headers


def test_a_refused_sign_in_is_an_api_error_with_its_status() -> None:
    mock = httpx.MockTransport(lambda r: envelope(401, "NOT_AUTHENTICATED", "No."))
    with pytest.raises(ApiError) as caught:
        password_login(URL, "ops@x.io", "wrong", transport=mock)
    assert caught.value.status == 401


def test_a_429_is_unavailable_at_once_without_waiting() -> None:
    client, seen = session(
        lambda r: envelope(429, "RATE_LIMITED", "Slow.", **{"Retry-After": "30"})
    )
    started = time.monotonic()
    with pytest.raises(ApiUnavailable) as caught:
        client.groups()
    assert time.monotonic() - started < 5  # never slept on Retry-After
    assert seen == ["GET /api/v1/groups"]
    assert caught.value.status == 429
    outage = api_status.outage()
    assert outage is not None
    assert "rate limiting" in outage.reason


def test_a_5xx_is_unavailable_and_the_next_answer_ends_the_outage() -> None:
    answers = iter(
        [envelope(503, "SERVICE_UNAVAILABLE", "DB down."), envelope(404, "NOT_FOUND", "x")]
    )
    client, _ = session(lambda r: next(answers))
    with pytest.raises(ApiUnavailable) as unavailable:
        client.app("a")
    assert unavailable.value.message == "The API answered 503: DB down."
    assert api_status.outage() is not None
    with pytest.raises(ApiError) as missing:
        client.app("a")
    assert not isinstance(missing.value, ApiUnavailable)
    assert missing.value.status == 404
    assert api_status.outage() is None  # an answer, even an error, means the API is up


def test_a_401_that_a_refresh_cannot_cure_is_not_signed_in() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/auth/refresh":
            return envelope(401, "NOT_AUTHENTICATED", "Refresh token reused.")
        return envelope(401, "NOT_AUTHENTICATED", "Token revoked.")

    client, seen = session(handler)
    with pytest.raises(NotSignedIn):
        client.me()
    assert seen == ["GET /api/v1/auth/me", "POST /api/v1/auth/refresh"]


def test_a_401_cured_by_a_refresh_is_retried_once() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/auth/refresh":
            return grant("A2", "R2")
        if request.headers["Authorization"] == "Bearer A1":
            return envelope(401, "NOT_AUTHENTICATED", "Token revoked.")
        return httpx.Response(200, json={"data": {"subject": "ops@x.io"}})

    client, _ = session(handler)
    assert client.me() == {"subject": "ops@x.io"}
    assert client.tokens.refresh_token == "R2"


def test_an_outage_during_a_refresh_keeps_the_pair() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    client, _ = session(handler, expires_at=time.time())  # expired: refreshed first
    with pytest.raises(ApiUnavailable) as caught:
        client.access_token(120)
    assert caught.value.message == "The API is unreachable."
    assert "api.test" not in str(caught.value)
    assert client.tokens.refresh_token == "R1"
    with pytest.raises(ApiUnavailable):
        client.me()


def test_the_session_client_sends_no_forwarded_address() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert "X-Forwarded-For" not in request.headers
        assert request.headers["Authorization"] == "Bearer A1"
        return httpx.Response(200, json={"data": {"timezone": "Europe/Paris"}})

    client, _ = session(handler)
    assert client.timezone() == "Europe/Paris"
    assert (client.subject, client.role) == ("ops@x.io", "admin")
