"""``dcctl`` as an API client, run as a subprocess against a real ``dcctl serve``.

One server for the module, in the embedded default: its in-process agent runs the small
apps of ``tests/agent_apps.py``, so a start really runs and ends. Users are made with
the local ``dcctl user create``; the remote commands log in like a person would and
keep their profile in a scratch ``XDG_CONFIG_HOME``.
"""

from __future__ import annotations

import csv
import io
import json
import stat
import subprocess
import time
from collections.abc import Iterator

import pytest

from tests.live_server import DCCTL, free_port, server_env
from tests.remote_cli import (
    ADMIN,
    ADMIN_PASSWORD,
    APPS,
    FOLLOW_TAIL,
    VIEWER,
    VIEWER_PASSWORD,
    Deployment,
    deploy,
    following,
    wait_for_line,
)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    yield from deploy(tmp_path_factory.mktemp("cli_remote"))


@pytest.fixture(scope="module")
def logged_in(deployment: Deployment) -> Deployment:
    result = deployment.dcctl(
        "login",
        "--url",
        deployment.server.url,
        "--username",
        ADMIN,
        "--password-stdin",
        stdin=ADMIN_PASSWORD + "\n",
    )
    assert result.returncode == 0, result.stderr
    assert f"as {ADMIN} (admin)" in result.stdout
    return deployment


# -- login and the profile ---------------------------------------------------------------


def test_login_keeps_a_private_profile_with_the_refresh_token_only(logged_in: Deployment) -> None:
    path = logged_in.profile_path()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    text = path.read_text()
    assert ADMIN_PASSWORD not in text
    stored = json.loads(text)["profiles"]["default"]
    assert stored["url"] == logged_in.server.url
    assert stored["username"] == ADMIN
    assert stored["refresh_token"]

    # later commands need nothing but the profile
    me = logged_in.json("apps", "show", "fleet_quick")
    assert me["id"] == "fleet_quick"


def test_the_profile_refreshes_an_expired_token_and_saves_the_new_pair(
    logged_in: Deployment,
) -> None:
    path = logged_in.profile_path()
    profiles = json.loads(path.read_text())
    before = profiles["profiles"]["default"]["refresh_token"]
    profiles["profiles"]["default"]["expires_at"] = 0  # as if half an hour went by
    path.write_text(json.dumps(profiles))

    assert logged_in.json("apps", "show", "other_quick")["id"] == "other_quick"

    after = json.loads(path.read_text())["profiles"]["default"]
    assert after["refresh_token"] != before  # rotated, and the new one kept
    assert after["expires_at"] > time.time()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_wrong_password_is_exit_3_and_writes_no_profile(deployment: Deployment) -> None:
    result = deployment.dcctl(
        "login",
        "--url",
        deployment.server.url,
        "--username",
        ADMIN,
        "--password-stdin",
        "--profile",
        "wrong",
        stdin="not-the-password\n",
    )
    assert result.returncode == 3, result.stderr
    assert "request id" in result.stderr
    path = deployment.profile_path()
    assert not path.exists() or "wrong" not in json.loads(path.read_text())["profiles"]


def test_logout_ends_the_session_and_forgets_the_profile(deployment: Deployment) -> None:
    login = deployment.dcctl(
        "login",
        "--url",
        deployment.server.url,
        "--username",
        VIEWER,
        "--password-stdin",
        "--profile",
        "brief",
        stdin=VIEWER_PASSWORD + "\n",
    )
    assert login.returncode == 0, login.stderr
    stored = json.loads(deployment.profile_path().read_text())["profiles"]["brief"]

    result = deployment.dcctl("logout", "--profile", "brief")
    assert result.returncode == 0, result.stderr
    assert "brief" not in json.loads(deployment.profile_path().read_text())["profiles"]
    # the access token the profile held no longer works
    refused = deployment.dcctl(
        "apps", "list", DCCTL_URL=deployment.server.url, DCCTL_TOKEN=stored["access_token"]
    )
    assert refused.returncode == 3, refused.stderr


# -- apps ----------------------------------------------------------------------------------


def test_list_with_filters(logged_in: Deployment) -> None:
    fleet = logged_in.json("apps", "list", "--group", "fleet")
    assert sorted(app["id"] for app in fleet) == [
        "fleet_blocked",
        "fleet_failing",
        "fleet_long",
        "fleet_quick",
        "fleet_reset",
    ]

    fatal = logged_in.json("apps", "list", "--group", "fleet", "--fatal", "--sort", "id")
    assert [app["id"] for app in fatal] == ["fleet_blocked", "fleet_reset"]

    found = logged_in.dcctl("apps", "list", "--search", "quick", "--sort", "-id", "--ndjson")
    assert found.returncode == 0, found.stderr
    ids = [json.loads(line)["id"] for line in found.stdout.splitlines()]
    assert ids[:3] == ["tail_quick", "other_quick", "fleet_quick"]

    table = logged_in.dcctl("apps", "list", "--group", "other")
    assert table.returncode == 0, table.stderr
    header, *rows = [line for line in table.stdout.splitlines() if line.strip("─ ")]
    assert header.split()[:3] == ["ID", "GROUP", "STATUS"]
    assert [row.split()[:2] for row in rows] == [["other_quick", "other"]]
    assert "\x1b[" not in table.stdout  # no colour codes when stdout is not a terminal


def test_start_with_wait_returns_when_the_run_has_ended(logged_in: Deployment) -> None:
    result = logged_in.dcctl("apps", "start", "fleet_quick", "--wait", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    outcome = json.loads(result.stdout)
    assert outcome["command"]["status"] == "acknowledged"
    run = outcome["app"]["last_runtime"]
    assert run["status"] == "COMPLETED"
    assert run["ended"]

    runs = logged_in.json("runs", "list", "--app", "fleet_quick")
    assert runs[0]["id"] == run["runtime"]
    assert runs[0]["records"]["solved"] == 3


def test_start_with_wait_exits_1_when_the_run_fails(logged_in: Deployment) -> None:
    result = logged_in.dcctl("apps", "start", "fleet_failing", "--wait")
    assert result.returncode == 1, result.stderr
    assert "ended FAILED" in result.stdout


def test_stop_with_wait_returns_once_the_run_stopped(logged_in: Deployment) -> None:
    started = logged_in.dcctl("apps", "start", "fleet_long")
    assert started.returncode == 0, started.stderr
    deadline = time.monotonic() + 60
    while logged_in.json("apps", "show", "fleet_long")["run_status"] != "RUNNING":
        assert time.monotonic() < deadline, "fleet_long never started"
        time.sleep(0.5)

    result = logged_in.dcctl("apps", "stop", "fleet_long", "--wait", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["app"]["run_status"] not in ("RUNNING", "STOPPING")
    runs = logged_in.json("runs", "list", "--app", "fleet_long")
    assert runs[0]["status"] == "STOPPED"
    assert runs[0]["records"]["solved"] < 2000


def test_reset_with_wait_clears_the_fatal_flag(logged_in: Deployment) -> None:
    result = logged_in.dcctl("apps", "reset", "fleet_reset", "--wait")
    assert result.returncode == 0, result.stderr
    assert "fatal flag NO_FATAL" in result.stdout
    assert logged_in.json("apps", "show", "fleet_reset")["fatal_flag"] == "NO_FATAL"


# -- bulk ------------------------------------------------------------------------------------


def test_bulk_dry_run_changes_nothing(logged_in: Deployment) -> None:
    dry = logged_in.json("bulk", "start", "--group", "bulk", "--dry-run")
    assert dry["matched"] == 3
    assert sorted(dry["app_ids"]) == ["bulk_broken", "bulk_disabled", "bulk_ok"]


def test_bulk_wait_shows_each_app_and_exits_1_when_one_failed(logged_in: Deployment) -> None:
    result = logged_in.dcctl("bulk", "start", "--group", "bulk", "--wait")
    assert result.returncode == 1, result.stdout + result.stderr
    outcomes = {
        line.split()[0]: line.split()[1]
        for line in result.stdout.splitlines()
        if line.startswith("bulk_")
    }
    assert outcomes == {"bulk_ok": "applied", "bulk_broken": "failed", "bulk_disabled": "skipped"}
    assert "1 applied, 1 skipped, 1 failed" in result.stdout


def test_bulk_wait_exits_0_when_no_app_failed(logged_in: Deployment) -> None:
    job = logged_in.dcctl(
        "bulk", "command", "--command", "DISABLE", "--app", "other_quick", "--wait", "--json"
    )
    assert job.returncode == 0, job.stderr
    final = json.loads(job.stdout)
    assert final["status"] == "completed"
    assert [(r["app_id"], r["outcome"]) for r in final["results"]] == [("other_quick", "applied")]
    assert logged_in.json("apps", "show", "other_quick")["disabled"] is True


# -- logs ------------------------------------------------------------------------------------


def test_logs_follow_receives_a_line_logged_while_it_runs(logged_in: Deployment) -> None:
    with following(logged_in, *FOLLOW_TAIL) as (follow, out, err):
        wait_for_line(err, "following live logs")
        assert out.empty()  # tail_quick never ran: nothing to backfill

        started = logged_in.dcctl("apps", "start", "tail_quick")
        assert started.returncode == 0, started.stderr

        entry = json.loads(wait_for_line(out, "quick run over"))
        assert entry["app"] == "tail_quick"
        assert entry["level"] == "INFO"
    assert follow.returncode == 0


def test_logs_query_and_export(logged_in: Deployment) -> None:
    logged_in.dcctl("apps", "start", "fleet_quick", "--wait")
    warnings = logged_in.json("logs", "query", "--app", "fleet_*", "--level", "WARNING")
    assert warnings
    assert {entry["level"] for entry in warnings} <= {"WARNING", "ERROR", "CRITICAL"}

    export = logged_in.dcctl(
        "logs", "export", "--format", "csv", "--app", "fleet_quick", "--limit", "2"
    )
    assert export.returncode == 0, export.stderr
    rows = list(csv.DictReader(io.StringIO(export.stdout)))
    assert len(rows) == 2
    assert {row["app"] for row in rows} == {"fleet_quick"}


# -- the rest, and exit codes --------------------------------------------------------------


def test_health_and_dead_jobs(logged_in: Deployment) -> None:
    health = logged_in.json("health", "--detailed")
    assert health["status"] == "healthy"
    assert health["checks"]["database"]["status"] == "up"
    anonymous = logged_in.dcctl("health", "--url", logged_in.server.url, "--profile", "none")
    assert anonymous.returncode == 0, anonymous.stderr
    assert anonymous.stdout.split() == ["status", "healthy"]
    assert logged_in.json("jobs", "dead") == []


def test_each_error_class_has_its_exit_code(logged_in: Deployment) -> None:
    url = logged_in.server.url
    viewer_key = logged_in.api_key(VIEWER)

    not_found = logged_in.dcctl("apps", "show", "no_such_app")
    assert not_found.returncode == 4, not_found.stderr
    assert "NOT_FOUND" in not_found.stderr

    conflict = logged_in.dcctl("apps", "start", "fleet_blocked")  # fatal: 409
    assert conflict.returncode == 1, conflict.stderr

    invalid = logged_in.dcctl("apps", "list", "--sort", "no_such_field")
    assert invalid.returncode == 2, invalid.stderr
    usage = logged_in.dcctl("apps", "show")  # missing argument
    assert usage.returncode == 2, usage.stderr

    forbidden = logged_in.dcctl("apps", "start", "fleet_quick", DCCTL_API_KEY=viewer_key)
    assert forbidden.returncode == 3, forbidden.stderr
    bad_key = logged_in.dcctl("apps", "list", DCCTL_URL=url, DCCTL_API_KEY="dck_not_a_key")
    assert bad_key.returncode == 3, bad_key.stderr
    nobody = logged_in.dcctl("apps", "list", "--url", url, "--profile", "none")
    assert nobody.returncode == 3, nobody.stderr

    down = logged_in.dcctl(
        "apps", "list", DCCTL_URL=f"http://127.0.0.1:{free_port()}", DCCTL_API_KEY=viewer_key
    )
    assert down.returncode == 5, down.stderr
    assert "cannot reach the API" in down.stderr

    # a key from the environment works wherever the profile is
    viewed = logged_in.dcctl("apps", "list", "--json", DCCTL_URL=url, DCCTL_API_KEY=viewer_key)
    assert viewed.returncode == 0, viewed.stderr
    assert len(json.loads(viewed.stdout)) == len(APPS)


def test_help_tells_local_from_remote_and_local_commands_still_work(
    deployment: Deployment,
) -> None:
    result = deployment.dcctl("--help")
    assert result.returncode == 0
    local, remote = result.stdout.split("Remote (API client)")
    assert "Local administration" in local
    for name in ("db", "user", "client", "serve", "agent"):
        assert f"\n  {name} " in local
    for name in ("apps", "bulk", "logs", "login", "health"):
        assert f"\n  {name} " in remote

    users = subprocess.run(
        [str(DCCTL), "user", "list"],
        env=server_env(deployment.database_url),
        cwd=deployment.home,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert users.returncode == 0, users.stderr
    assert ADMIN in users.stdout
