"""The API against its own OpenAPI document: schemathesis, every check, five identities.

One real ``dcctl serve`` (SQLite, the demo fleet seeded, the embedded background on) is
fuzzed with ``st run`` as each of viewer, operator, admin, a service client and an
anonymous caller, with every check on (``ignored_auth`` included), a fixed seed and a
bounded number of examples. A run passes only with zero failures: no 500, no status the
document does not declare, no response that breaks its schema, no schema-valid request
refused, no schema-invalid request accepted.

The run is bounded to stay within a few minutes on two cores: the coverage phase (the
systematic boundary and negative values of every parameter) runs once, for the admin who
reaches every operation; every identity gets the fuzzing phase.

``POST /api/v1/auth/logout`` ends the session whose token the run sends, so it is fuzzed in
a second, short run after the others. Rate limits are raised: the limits have their own
tests (tests/api/test_rate_limit.py) and would otherwise answer 429 to most of the run.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.live_server import LiveServer, migrated_sqlite, run_dcctl, server_env

ST = Path(sys.executable).with_name("st")
HOOKS = Path(__file__).parents[1] / "schemathesis_hooks.py"
CONFIG = Path(__file__).with_name("schemathesis.toml")
SEED = "20261202"
PASSWORD = "fuzzing horse battery staple"
LOGOUT = "/api/v1/auth/logout"
UNLIMITED = {
    "DC_RATE_LIMIT_PER_MINUTE": "10000000",
    "DC_AUTH_RATE_LIMIT_PER_MINUTE": "10000000",
    "DC_TOKEN_RATE_LIMIT_PER_MINUTE": "10000000",
}
# identity -> (phases, examples per operation)
PLANS = {
    "viewer": ("fuzzing", 3),
    "operator": ("fuzzing", 3),
    "service": ("fuzzing", 3),
    "anonymous": ("fuzzing", 2),
    "admin": ("coverage,fuzzing", 3),
}


class Fleet:
    """The server under test and what it takes to act as each identity."""

    def __init__(self, server: LiveServer, client_id: str, client_secret: str) -> None:
        self.server = server
        self.client_id = client_id
        self.client_secret = client_secret
        self.cursors_path = Path()
        self.tokens: dict[tuple[str, str], str | None] = {}

    def harvest_cursors(self, path: Path) -> None:
        """Real cursors of every cursor-paged list, for tests/schemathesis_hooks.py."""
        headers = {"Authorization": f"Bearer {self.token('admin')}"}
        document = httpx.get(f"{self.server.url}/api/openapi.json").json()
        cursors: dict[str, list[str]] = {}
        for route, methods in document["paths"].items():
            names = {p["name"] for p in methods.get("get", {}).get("parameters", [])}
            if "cursor" not in names or "{" in route:
                continue
            size = "per_page" if "per_page" in names else "limit"
            page = httpx.get(f"{self.server.url}{route}?{size}=1", headers=headers).json()
            found = (page.get("meta") or {}).get("next_cursor")
            cursors[route] = [found] if found else []
        path.write_text(json.dumps(cursors))
        self.cursors_path = path

    def token(self, identity: str) -> str | None:
        """A fresh access token for ``identity`` (None for anonymous)."""
        if identity == "anonymous":
            return None
        if identity == "service":
            body = {"client_id": self.client_id, "client_secret": self.client_secret}
            answer = httpx.post(f"{self.server.url}/api/v1/auth/service", json=body)
        else:
            body = {"username": f"{identity}@example.com", "password": PASSWORD}
            answer = httpx.post(f"{self.server.url}/api/v1/auth/token", json=body)
        assert answer.status_code == 200, answer.text
        return str(answer.json()["data"]["access_token"])


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory):
    workdir = tmp_path_factory.mktemp("schemathesis")
    url = migrated_sqlite(workdir / "fuzz.sqlite3")
    env = server_env(url)
    for role in ("admin", "operator", "viewer"):
        made = subprocess.run(
            [
                *(str(ST.with_name("dcctl")), "user", "create"),
                *("--email", f"{role}@example.com", "--role", role, "--password-stdin"),
            ],
            input=PASSWORD,
            env=env,
            cwd=workdir,
            capture_output=True,
            text=True,
            check=False,
        )
        assert made.returncode == 0, made.stderr
    # a small fleet: enough rows for second pages and real ids, little to load
    seeded = run_dcctl("demo", "seed", "--apps", "12", "--days", "1", env=env, cwd=workdir)
    assert seeded.returncode == 0, seeded.stderr
    registered = run_dcctl("client", "create", "--name", "fuzz-bot", env=env, cwd=workdir)
    assert registered.returncode == 0, registered.stderr
    fields = dict(
        line.split(":", 1) for line in registered.stdout.splitlines() if line.startswith("client_")
    )
    with LiveServer(url, log_dir=workdir, extra_env=UNLIMITED, name="fuzzed") as server:
        fleet = Fleet(server, fields["client_id"].strip(), fields["client_secret"].strip())
        fleet.harvest_cursors(workdir / "cursors.json")
        # Every token is issued before any run: the runs post wrong passwords to
        # /auth/token, and the failed-login throttle then refuses this address.
        fleet.tokens = {(who, run): fleet.token(who) for who in PLANS for run in ("api", "out")}
        yield fleet


def schemathesis(fleet: Fleet, token: str | None, *options: str) -> subprocess.CompletedProcess:
    """``st run`` against the fleet's document with every check on; its result."""
    command = [
        str(ST),
        "--config-file",
        str(CONFIG),
        "run",
        f"{fleet.server.url}/api/openapi.json",
        "--checks",
        "all",
        "--seed",
        SEED,
        "--workers",
        "2",
        "--no-shrink",
        "--request-timeout",
        "30",
        *options,
    ]
    if token is not None:
        command += ["--header", f"Authorization: Bearer {token}"]
    env = {
        "NO_COLOR": "1",
        "PATH": str(ST.parent),
        "HOME": str(fleet.server.log_dir),
        "SCHEMATHESIS_HOOKS": str(HOOKS),
        "DC_FUZZ_CURSORS": str(fleet.cursors_path),
    }
    workdir = fleet.server.log_dir  # hypothesis keeps its example database there
    return subprocess.run(
        command, env=env, cwd=workdir, capture_output=True, text=True, timeout=600, check=False
    )


def report(result: subprocess.CompletedProcess, fleet: Fleet) -> str:
    """What failed, compactly: each failing operation, check, status and reproduction."""
    keep = re.compile(
        r"^(_{3,} .+ _{3,}|- ST\d+ .+|\[\d{3}\] .+|\s+`.+|\s+curl .+|.*Runtime Error.*)$"
    )
    lines = [line.strip()[:400] for line in result.stdout.splitlines() if keep.match(line)]
    summary = result.stdout[result.stdout.rfind("SUMMARY") :][:3000]
    errors = [line for line in fleet.server.stderr_text().splitlines() if "Traceback" in line]
    return "\n".join([*lines, summary, result.stderr[-2000:], f"server tracebacks: {errors}"])


@pytest.mark.timeout(900)
@pytest.mark.parametrize("identity", list(PLANS))
def test_the_api_honours_its_document(fleet: Fleet, identity: str) -> None:
    phases, examples = PLANS[identity]
    result = schemathesis(
        fleet,
        fleet.tokens[identity, "api"],
        "--phases",
        phases,
        "--max-examples",
        str(examples),
        "--exclude-path",
        LOGOUT,
    )
    assert result.returncode == 0, report(result, fleet)
    selected = re.search(r"Selected: (\d+)/(\d+)", result.stdout)
    tested = re.search(r"Tested: (\d+)", result.stdout)
    assert selected, result.stdout[-3000:]
    assert tested, result.stdout[-3000:]
    # every operation but logout was exercised, and the document has them all
    assert int(tested.group(1)) == int(selected.group(1)) == int(selected.group(2)) - 1 > 40


@pytest.mark.timeout(300)
@pytest.mark.parametrize("identity", list(PLANS))
def test_logout_honours_its_document(fleet: Fleet, identity: str) -> None:
    result = schemathesis(
        fleet,
        fleet.tokens[identity, "out"],
        "--phases",
        "coverage,fuzzing",
        "--max-examples",
        "5",
        "--include-path",
        LOGOUT,
    )
    assert result.returncode == 0, report(result, fleet)
