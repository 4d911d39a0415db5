"""``dcctl login`` profiles: the API's URL and a refresh token, in the user's config dir.

The file (``$XDG_CONFIG_HOME/dcctl/profiles.json``, mode 0600 in a 0700 directory)
holds, per profile name, the URL, the username, and the current token pair; never a
password. Refresh tokens are single-use and the API revokes the whole session when one
is used twice, so a refresh happens under an exclusive lock on the file and re-reads it
first: two ``dcctl`` commands started together share the pair the first one got.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import httpx

from dcclient import TokenAuth, Tokens

FILE_NAME = "profiles.json"


def config_dir() -> Path:
    """``click.get_app_dir``: ``$XDG_CONFIG_HOME/dcctl`` (``~/.config/dcctl``) on Linux."""
    return Path(click.get_app_dir("dcctl"))


def profiles_path() -> Path:
    return config_dir() / FILE_NAME


def _read_all() -> dict[str, dict[str, Any]]:
    try:
        text = profiles_path().read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        raise click.ClickException(f"{profiles_path()} is not valid JSON") from None
    profiles = data.get("profiles") if isinstance(data, dict) else None
    return profiles if isinstance(profiles, dict) else {}


def _write_all(profiles: dict[str, dict[str, Any]]) -> None:
    """Replace the file atomically; created 0600 so the token is never readable by
    others, not even for a moment."""
    folder = config_dir()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = folder / f".{FILE_NAME}.{os.getpid()}.tmp"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        os.fchmod(out.fileno(), 0o600)  # the umask cannot widen it, an old file cannot either
        json.dump({"profiles": profiles}, out, indent=2, sort_keys=True)
        out.write("\n")
    os.replace(temporary, profiles_path())


@contextlib.contextmanager
def locked() -> Iterator[None]:
    """An exclusive lock shared by every dcctl process of this user."""
    folder = config_dir()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(folder / ".lock", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def load(name: str) -> dict[str, Any] | None:
    return _read_all().get(name)


def save(name: str, url: str, username: str, tokens: Tokens) -> None:
    with locked():
        profiles = _read_all()
        profiles[name] = {
            "url": url,
            "username": username,
            "access_token": tokens.access_token,
            "refresh_token": tokens.refresh_token,
            "expires_at": tokens.expires_at,
        }
        _write_all(profiles)


def remove(name: str) -> bool:
    with locked():
        profiles = _read_all()
        if profiles.pop(name, None) is None:
            return False
        _write_all(profiles)
        return True


class ProfileAuth(TokenAuth):
    """The token pair of a profile, refreshed under the file lock and saved back."""

    def __init__(self, name: str, stored: dict[str, Any]) -> None:
        super().__init__(_tokens(stored))
        self.name = name
        self.url = str(stored["url"])
        self.username = str(stored.get("username") or "")

    def _renew(self, http: httpx.Client) -> None:
        sent = self.tokens.access_token if self.tokens else ""
        with locked():
            stored = _read_all().get(self.name)
            if stored is None:
                raise click.ClickException(f"profile {self.name!r} is gone; dcctl login again")
            latest = _tokens(stored)
            if latest.access_token != sent and latest.fresh():
                self.tokens = latest  # another dcctl refreshed meanwhile
                return
            self.tokens = latest
            super()._renew(http)
            assert self.tokens is not None
            profiles = _read_all()
            profiles[self.name] = {
                **stored,
                "access_token": self.tokens.access_token,
                "refresh_token": self.tokens.refresh_token,
                "expires_at": self.tokens.expires_at,
            }
            _write_all(profiles)


def _tokens(stored: dict[str, Any]) -> Tokens:
    return Tokens(
        access_token=str(stored.get("access_token") or ""),
        refresh_token=str(stored.get("refresh_token") or "") or None,
        expires_at=float(stored.get("expires_at") or 0),
    )
