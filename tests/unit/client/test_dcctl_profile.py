"""The remote commands' profile file and exit codes, without a server."""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path

import httpx
import pytest

from control.cli.remote import profile
from control.cli.remote.connection import exit_code
from dcclient import ApiError, Client, Tokens


@pytest.fixture(autouse=True)
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path / "config"


def test_the_profile_file_is_private_from_the_start(config_home: Path) -> None:
    profile.save("default", "http://api.test", "ops@x.io", Tokens("A", "R", 1.0e10))
    path = config_home / "dcctl" / "profiles.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert json.loads(path.read_text())["profiles"]["default"]["refresh_token"] == "R"
    assert profile.remove("default")
    assert profile.load("default") is None
    assert not profile.remove("default")


def test_a_pair_refreshed_by_another_dcctl_is_used_not_refreshed_again() -> None:
    refreshes: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/auth/refresh":
            refreshes.append(json.loads(request.content)["refresh_token"])
            data = {"access_token": "A2", "refresh_token": "R2", "expires_in": 1800}
            return httpx.Response(200, json={"data": data})
        return httpx.Response(200, json={"data": {"auth": request.headers["Authorization"]}})

    profile.save("default", "http://api.test", "ops@x.io", Tokens("A1", "R1", time.time() - 1))
    first = profile.ProfileAuth("default", profile.load("default") or {})
    second = profile.ProfileAuth("default", profile.load("default") or {})  # read before
    for auth in (first, second):
        with Client("http://api.test", auth, transport=httpx.MockTransport(handler)) as api:
            assert api.get("/auth/me")["data"]["auth"] == "Bearer A2"
    # R1 was used once: a second use would have revoked the whole session
    assert refreshes == ["R1"]
    assert (profile.load("default") or {})["refresh_token"] == "R2"


@pytest.mark.parametrize(
    ("status", "code"),
    [(None, 5), (500, 5), (503, 5), (429, 5), (401, 3), (403, 3), (404, 4), (409, 1), (400, 2)],
)
def test_api_errors_map_to_the_documented_exit_codes(status: int | None, code: int) -> None:
    assert exit_code(ApiError(status, "X", "x")) == code
