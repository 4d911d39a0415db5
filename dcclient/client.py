"""The HTTP side of the client: one ``httpx.Client``, authentication, retries, paging.

Every call goes through ``Client.request``: it adds the credential's headers, retries
once after a 401 with a renewed credential, waits out a 429 (and a 503 that says when
to come back) as ``Retry-After`` asks, up to a bound, and turns any error answer into
``ApiError``. The transport is injectable (``httpx.MockTransport`` in tests, or a
caller's own), so a caller never needs HTTP code of its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Any, Self

import httpx

from dcclient.auth import API_PREFIX, Auth
from dcclient.errors import ApiError

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
MAX_RETRIES = 3  # waits on 429/503 before the error is raised
MAX_RETRY_WAIT = 30.0  # seconds; a longer Retry-After is not waited for
DEFAULT_RETRY_WAIT = 1.0  # a 429 without Retry-After

Json = dict[str, Any]


class BaseClient:
    """The API at ``base_url`` (``http://host:8000``), as ``auth`` (or anonymous).

    ``headers`` go with every request, the credential's grants and refreshes included
    (e.g. the ``X-Forwarded-For`` of the person a front end acts for, which the API
    believes from its trusted proxies only). ``max_retries=0`` never sleeps on a 429 or
    503: the caller gets the ``ApiError`` at once (an interactive front end shows it)."""

    def __init__(
        self,
        base_url: str,
        auth: Auth | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        max_retries: int = MAX_RETRIES,
        max_retry_wait: float = MAX_RETRY_WAIT,
        sleep: Callable[[float], None] = time.sleep,
        user_agent: str = "dcclient",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self.max_retries = max_retries
        self.max_retry_wait = max_retry_wait
        self._sleep = sleep
        # trust_env=False: an HTTP(S)_PROXY meant for the internet must not reroute calls to
        # the control plane; a caller who needs a proxy passes a transport.
        self.http = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            transport=transport,
            trust_env=False,
            headers={"User-Agent": user_agent, "Accept": "application/json", **(headers or {})},
        )

    # -- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- requests --------------------------------------------------------------------------

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
        """One call to ``/api/v1<path>``; the 2xx response (or one whose status is in
        ``accept``, e.g. the 503 of an unhealthy health check), else ``ApiError``."""
        url = path if path.startswith("/api/") else f"{API_PREFIX}{path}"
        query = _clean(params)
        renewed = False
        waits = 0
        while True:
            try:
                sent = {**(headers or {}), **(self.auth.headers(self.http) if self.auth else {})}
                response = self.http.request(method, url, params=query, json=json, headers=sent)
                if response.status_code == 401 and self.auth is not None and not renewed:
                    renewed = True
                    if self.auth.renew(self.http, sent):
                        continue
            except httpx.TransportError as exc:
                raise ApiError.unreachable(exc) from None
            if response.status_code in accept:
                return response
            wait = self._retry_wait(response, waits)
            if wait is None:
                break
            waits += 1
            self._sleep(wait)
        if response.status_code >= 400:
            raise ApiError.from_response(response)
        return response

    def _retry_wait(self, response: httpx.Response, waits: int) -> float | None:
        """Seconds to wait before trying again, or None to give the answer as it is.

        429 means the request was not processed, so it is always safe to repeat; a 503
        only when it says when to come back (the API sends Retry-After when a part it
        needs is down, not when the request failed halfway)."""
        if response.status_code not in (429, 503) or waits >= self.max_retries:
            return None
        header = response.headers.get("Retry-After")
        if header is None and response.status_code == 503:
            return None
        try:
            wait = float(header) if header is not None else DEFAULT_RETRY_WAIT
        except ValueError:
            return None  # an HTTP date: rare enough to give up on
        if wait < 0 or wait > self.max_retry_wait:
            return None
        return wait

    def get(self, path: str, **params: Any) -> Json:
        """``GET``: the whole body (``data``, and ``meta`` for lists)."""
        return dict(self.request("GET", path, params=params).json())

    def post(
        self, path: str, body: Any = None, *, headers: Mapping[str, str] | None = None
    ) -> Json:
        """``POST``: the whole body, ``{}`` for an empty answer."""
        response = self.request("POST", path, json=body, headers=headers)
        return dict(response.json()) if response.content else {}

    def patch(self, path: str, body: Any, *, headers: Mapping[str, str] | None = None) -> Json:
        """``PATCH``: the whole body (``request`` gives the headers too, e.g. the ETag)."""
        return dict(self.request("PATCH", path, json=body, headers=headers).json())

    # -- lists -----------------------------------------------------------------------------

    def iter_pages(self, path: str, *, per_page: int = 100, **params: Any) -> Iterator[Json]:
        """Every item of an offset-paged list (``page``/``per_page``, ``meta.total_pages``)."""
        page = 1
        while True:
            body = self.get(path, page=page, per_page=per_page, **params)
            yield from body["data"]
            if page >= int(body.get("meta", {}).get("total_pages") or 0):
                return
            page += 1

    def iter_cursor(self, path: str, *, limit: int = 100, **params: Any) -> Iterator[Json]:
        """Every item of a cursor-paged list, following ``meta.next_cursor``."""
        cursor: str | None = None
        while True:
            body = self.get(path, limit=limit, cursor=cursor, **params)
            yield from body["data"]
            cursor = body.get("meta", {}).get("next_cursor")
            if not cursor:
                return

    def stream_lines(self, path: str, **params: Any) -> Iterator[str]:
        """A text answer (the log export) line by line. It is read whole first: the
        export is bounded by its ``limit``, and a complete answer can be retried."""
        response = self.request("GET", path, params=params)
        yield from response.iter_lines()


def _clean(params: Mapping[str, Any] | None) -> dict[str, Any]:
    """Query parameters without the unset ones; booleans as the API spells them."""
    clean: dict[str, Any] = {}
    for key, value in (params or {}).items():
        if value is None or value == "":
            continue
        clean[key] = ("true" if value else "false") if isinstance(value, bool) else value
    return clean
