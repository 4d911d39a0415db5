"""Where a remote command connects, as whom, and how its failures end (exit codes).

The URL and credential come from the options, else the environment (``DCCTL_URL``,
``DCCTL_API_KEY``, ``DCCTL_TOKEN``; ``DC_*`` is the server's), else the profile that
``dcctl login`` wrote (``--profile``/``DCCTL_PROFILE``, default ``default``).
"""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Callable, Iterator
from typing import Any, NoReturn, TypeVar

import click

from control import __version__
from control.cli.remote import profile
from dcclient import ApiError, ApiKeyAuth, Auth, Client, TokenAuth

F = TypeVar("F", bound=Callable[..., Any])

# Exit codes (docs/cli.md): 0 ok, 1 failed items, 2 usage, 3 auth, 4 not found, 5 server.
OK, FAILED, USAGE, AUTH, NOT_FOUND, SERVER = 0, 1, 2, 3, 4, 5


def exit_code(error: ApiError) -> int:
    """The exit status for an API error."""
    status = error.status
    if status is None or status >= 500 or status == 429:
        return SERVER  # no answer, an outage, or throttled beyond the retries
    if status in (401, 403):
        return AUTH
    if status == 404:
        return NOT_FOUND
    if status in (409, 412, 428):
        return FAILED  # the API refused what was asked for this item (e.g. app is fatal)
    return USAGE  # 400, 413, 415, 422: what was sent is not valid


def fail(message: str, code: int) -> NoReturn:
    click.echo(f"dcctl: {message}", err=True)
    sys.exit(code)


@contextlib.contextmanager
def reported() -> Iterator[None]:
    """An ``ApiError`` ends the command with its message, request id and exit code."""
    try:
        yield
    except ApiError as exc:
        text = str(exc)
        if exc.request_id:
            text += f"\n  request id: {exc.request_id}"
        fail(text, exit_code(exc))
    except TimeoutError as exc:
        fail(f"gave up waiting: {exc}", FAILED)


class Remote:
    """The resolved connection of one command; ``client`` is built on first use."""

    def __init__(
        self,
        url: str | None,
        api_key: str | None,
        token: str | None,
        profile_name: str,
        *,
        anonymous_ok: bool = False,
    ) -> None:
        self.url = url
        self.api_key = api_key
        self.token = token
        self.profile_name = profile_name
        self.anonymous_ok = anonymous_ok
        self._client: Client | None = None

    def auth(self) -> tuple[str | None, Auth | None]:
        """(URL, credential): options and environment first, then the profile (whose URL
        also serves a key or token given without one)."""
        stored = profile.load(self.profile_name)
        url = self.url or (str(stored["url"]) if stored else None)
        if self.api_key:
            return url, ApiKeyAuth(self.api_key)
        if self.token:
            return url, TokenAuth.from_access_token(self.token)
        if stored is None:
            return self.url, None
        same_server = self.url is None or self.url.rstrip("/") == str(stored["url"]).rstrip("/")
        if not same_server:
            return self.url, None  # the profile's token belongs to another server
        return self.url or str(stored["url"]), profile.ProfileAuth(self.profile_name, stored)

    @property
    def client(self) -> Client:
        if self._client is None:
            url, auth = self.auth()
            if not url:
                fail("no API URL: pass --url, set DCCTL_URL, or run 'dcctl login'", USAGE)
            if auth is None and not self.anonymous_ok:
                fail(
                    "not logged in: run 'dcctl login', or set DCCTL_API_KEY or DCCTL_TOKEN",
                    AUTH,
                )
            self._client = Client(url, auth, user_agent=f"dcctl/{__version__}")
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def remote_options(anonymous_ok: bool = False) -> Callable[[F], F]:
    """Add ``--url``, ``--api-key``, ``--token``, ``--profile``; pass a ``Remote`` as the
    first argument; report API errors with their exit codes."""

    def decorate(fn: F) -> F:
        @click.option(
            "--url", envvar="DCCTL_URL", metavar="URL", help="API base URL [env: DCCTL_URL]."
        )
        @click.option(
            "--api-key",
            envvar="DCCTL_API_KEY",
            metavar="KEY",
            help="API key (prefer the environment) [env: DCCTL_API_KEY].",
        )
        @click.option(
            "--token",
            envvar="DCCTL_TOKEN",
            metavar="TOKEN",
            help="Access token (prefer the environment) [env: DCCTL_TOKEN].",
        )
        @click.option(
            "--profile",
            "profile_name",
            envvar="DCCTL_PROFILE",
            default="default",
            show_default=True,
            help="Profile written by 'dcctl login' [env: DCCTL_PROFILE].",
        )
        @functools.wraps(fn)
        def wrapper(
            url: str | None,
            api_key: str | None,
            token: str | None,
            profile_name: str,
            **kwargs: Any,
        ) -> Any:
            remote = Remote(url, api_key, token, profile_name, anonymous_ok=anonymous_ok)
            try:
                with reported():
                    return fn(remote, **kwargs)
            finally:
                remote.close()

        return wrapper  # type: ignore[return-value]

    return decorate
