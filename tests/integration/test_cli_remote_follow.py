"""``dcctl logs query --follow`` outlives its access token: a server whose tokens last a
few seconds closes the feed with 4001 at expiry; the follower refreshes and reopens it,
and still receives the lines logged after that."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.remote_cli import (
    ADMIN,
    ADMIN_PASSWORD,
    FOLLOW_TAIL,
    Deployment,
    deploy,
    following,
    wait_for_line,
)

LIVE = "following live logs"


@pytest.fixture
def short_tokens(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    yield from deploy(
        tmp_path_factory.mktemp("cli_follow"),
        DC_JWT_EXPIRY_MINUTES="0.2",  # 12 s: the test need not wait a minute for expiry
        DC_WS_RECHECK_SECONDS="1",
    )


def test_follow_reopens_the_feed_with_a_refreshed_token(short_tokens: Deployment) -> None:
    login = short_tokens.dcctl(
        "login",
        "--url",
        short_tokens.server.url,
        "--username",
        ADMIN,
        "--password-stdin",
        stdin=ADMIN_PASSWORD + "\n",
    )
    assert login.returncode == 0, login.stderr
    before = json.loads(short_tokens.profile_path().read_text())["profiles"]["default"]

    with following(short_tokens, *FOLLOW_TAIL) as (follow, out, err):
        wait_for_line(err, LIVE)
        # the token expires within seconds: the server closes with 4001, dcctl refreshes
        wait_for_line(err, LIVE, within=60)
        assert follow.poll() is None

        # the start goes with an API key: a second user of the profile would refresh the
        # follower's (single-use) refresh token behind its back
        key = short_tokens.api_key(ADMIN)
        started = short_tokens.dcctl("apps", "start", "tail_quick", DCCTL_API_KEY=key)
        assert started.returncode == 0, started.stderr
        entry = json.loads(wait_for_line(out, "quick run over"))
        assert entry["app"] == "tail_quick"
    assert follow.returncode == 0
    after = json.loads(short_tokens.profile_path().read_text())["profiles"]["default"]
    assert after["refresh_token"] != before["refresh_token"]  # the refresh was saved
