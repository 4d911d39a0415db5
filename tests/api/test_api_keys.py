"""/api/v1/settings/api-keys: self-service keys and their use, on SQLite and PostgreSQL."""

from __future__ import annotations

import re

import falcon.testing
import pytest

from control.auth import passwords
from control.auth.models import ApiKey
from control.auth.roles import Role
from control.kv.memory import MemoryStore
from control.settings import load_settings
from web.app import create_app
from web.wiring import build_services

URL = "/api/v1/settings/api-keys"
KEY_RE = re.compile(r"^dck_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$")
ITEM_FIELDS = {"id", "prefix", "name", "role", "created", "last_used"}


@pytest.fixture
def owner(app, make_user, token_for):
    """(user, bearer client) for an operator."""
    user = make_user(Role.OPERATOR)
    token = token_for(user)
    return user, falcon.testing.TestClient(app, headers={"Authorization": f"Bearer {token}"})


def create(client, name="ci", **extra) -> falcon.testing.Result:
    return client.simulate_post(URL, json={"name": name, **extra})


def new_key(client, name="ci", **extra) -> dict:
    r = create(client, name, **extra)
    assert r.status_code == 201, r.text
    return r.json["data"]


def with_key(app, key: str, header: str = "X-API-Key") -> falcon.testing.TestClient:
    return falcon.testing.TestClient(app, headers={header: key})


# -- create and list -----------------------------------------------------------------


def test_create_returns_the_whole_key_once(owner):
    _, client = owner
    r = create(client, "deploy bot")
    assert r.status_code == 201, r.text
    data = r.json["data"]
    assert KEY_RE.match(data["key"])
    assert set(data) == ITEM_FIELDS | {"key"}
    assert data["name"] == "deploy bot"
    assert data["role"] == "operator"  # the caller's role by default
    assert data["prefix"] == data["key"].split("_")[1]
    assert data["last_used"] is None
    assert r.headers["location"] == f"{URL}/{data['id']}"

    listed = client.simulate_get(URL)
    assert listed.status_code == 200
    assert data["key"] not in listed.text
    assert all("key" not in item for item in listed.json["data"])


def test_list_shows_prefix_name_role_created_last_used_and_no_secret(owner):
    _, client = owner
    first = new_key(client, "first", role="viewer")
    second = new_key(client, "second")
    r = client.simulate_get(URL)
    assert r.status_code == 200, r.text
    body = r.json
    assert body["meta"] == {"page": 1, "per_page": 20, "total": 2, "total_pages": 1}
    assert [item["name"] for item in body["data"]] == ["second", "first"]  # newest first
    for item in body["data"]:
        assert set(item) == ITEM_FIELDS
    assert body["data"][1]["role"] == "viewer"
    assert body["data"][1]["prefix"] == first["prefix"]
    assert body["data"][0]["created"].endswith("Z")
    assert "$argon2" not in r.text
    assert first["key"] not in r.text
    assert second["key"] not in r.text

    from web.schemas.settings import ApiKeyListResponse

    ApiKeyListResponse.model_validate(body)


def test_list_pages(owner):
    _, client = owner
    for i in range(3):
        new_key(client, f"k{i}")
    r = client.simulate_get(URL, params={"per_page": "2", "page": "2"})
    assert r.status_code == 200, r.text
    assert r.json["meta"] == {"page": 2, "per_page": 2, "total": 3, "total_pages": 2}
    assert [item["name"] for item in r.json["data"]] == ["k0"]


def test_list_shows_only_own_keys(owner, client_as):
    _, client = owner
    new_key(client, "mine")
    other = client_as(Role.ADMIN)
    new_key(other, "theirs")
    assert [item["name"] for item in client.simulate_get(URL).json["data"]] == ["mine"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "ok", "role": "root"}, "role"),
        ({"name": "ok", "key": "dck_chosen"}, "key"),
    ],
)
def test_create_validation(owner, body, field):
    _, client = owner
    r = client.simulate_post(URL, json=body)
    assert r.status_code == 422, r.text
    assert field in [d["field"] for d in r.json["error"]["details"]]


def test_stored_row_has_only_an_argon2id_hash(owner):
    _, client = owner
    data = new_key(client)
    row = ApiKey.get_by_id(data["id"])
    assert row.key_hash.startswith("$argon2id$")
    secret = data["key"].split("_", 2)[2]
    assert secret not in row.key_hash
    assert data["key"] not in row.key_hash
    assert row.prefix == data["prefix"]


# -- roles ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("caller", "wanted"),
    [(Role.OPERATOR, "admin"), (Role.VIEWER, "operator"), (Role.VIEWER, "admin")],
)
def test_no_key_above_the_callers_role(client_as, caller, wanted):
    client = client_as(caller)
    r = create(client, role=wanted)
    assert r.status_code == 403, r.text
    assert [d["field"] for d in r.json["error"]["details"]] == ["role"]
    assert ApiKey.select().count() == 0


@pytest.mark.parametrize(
    ("caller", "wanted"),
    [(Role.ADMIN, "admin"), (Role.ADMIN, "viewer"), (Role.OPERATOR, "viewer")],
)
def test_key_at_or_below_the_callers_role(client_as, caller, wanted):
    assert new_key(client_as(caller), role=wanted)["role"] == wanted


def test_operator_cannot_create_a_service_key(client_as):
    assert create(client_as(Role.OPERATOR), role="service").status_code == 403


def test_stale_token_role_cannot_exceed_the_account_role(app, make_user, token_for):
    # demoted after login: the token still says admin, the account says viewer
    user = make_user(Role.ADMIN)
    token = token_for(user)
    user.role = Role.VIEWER
    user.save()
    client = falcon.testing.TestClient(app, headers={"Authorization": f"Bearer {token}"})
    assert create(client, role="admin").status_code == 403
    assert new_key(client)["role"] == "viewer"


# -- using a key ---------------------------------------------------------------------


def test_key_authenticates_via_header_and_sets_last_used(app, owner):
    _, client = owner
    data = new_key(client)
    r = with_key(app, data["key"]).simulate_get("/api/v1/apps")
    assert r.status_code == 200, r.text
    listed = client.simulate_get(URL).json["data"]
    assert listed[0]["last_used"] is not None

    me = with_key(app, data["key"]).simulate_get("/api/v1/auth/me").json["data"]
    assert me["kind"] == "api_key"
    assert me["role"] == "operator"


def test_key_acts_with_its_own_role(app, client_as):
    admin = client_as(Role.ADMIN)
    data = new_key(admin, role="viewer")
    me = with_key(app, data["key"]).simulate_get("/api/v1/auth/me").json["data"]
    assert me["role"] == "viewer"


@pytest.mark.parametrize("name", ["api_key", "X-API-Key", "x-api-key", "key"])
def test_key_in_the_query_string_does_not_authenticate(app, owner, name):
    _, client = owner
    data = new_key(client)
    anonymous = falcon.testing.TestClient(app)
    for path in ("/api/v1/apps", URL, "/api/v1/settings", "/api/v1/auth/me"):
        r = anonymous.simulate_get(path, params={name: data["key"]})
        assert r.status_code == 401, (path, r.text)
        assert r.json["error"]["code"] == "UNAUTHORIZED"
    # with a real credential, the parameter is simply unknown to a query model
    r = client.simulate_get(URL, params={name: data["key"]})
    assert r.status_code == 400
    assert r.json["error"]["code"] == "UNKNOWN_PARAMETER"
    assert ApiKey.get_by_id(data["id"]).last_used is None


def test_configured_header_only(db, owner):
    settings = load_settings(environment="test", api_key_header="X-Collector-Key")
    app = create_app(
        settings, bind_database=False, services=build_services(settings, store=MemoryStore())
    )
    _, client = owner  # a bearer token is valid in any app with the same signing key
    data = new_key(client)
    assert with_key(app, data["key"], "X-API-Key").simulate_get("/api/v1/apps").status_code == 401
    r = with_key(app, data["key"], "X-Collector-Key").simulate_get("/api/v1/apps")
    assert r.status_code == 200, r.text
    r = falcon.testing.TestClient(app).simulate_get(
        "/api/v1/apps", params={"X-Collector-Key": data["key"]}
    )
    assert r.status_code == 401


def test_api_key_may_list_but_not_create_or_revoke(app, owner):
    _, client = owner
    data = new_key(client)
    by_key = with_key(app, data["key"])
    r = by_key.simulate_get(URL)
    assert r.status_code == 200
    assert [item["id"] for item in r.json["data"]] == [data["id"]]

    r = create(by_key, "child")
    assert r.status_code == 403
    assert ApiKey.select().count() == 1

    assert by_key.simulate_delete(f"{URL}/{data['id']}").status_code == 403
    assert by_key.simulate_get("/api/v1/apps").status_code == 200


def test_api_key_may_use_its_users_settings(app, owner):
    _, client = owner
    by_key = with_key(app, new_key(client)["key"])
    r = by_key.simulate_patch("/api/v1/settings", json={"timezone": "Europe/Paris"})
    assert r.status_code == 200, r.text
    assert client.simulate_get("/api/v1/settings").json["data"]["timezone"] == "Europe/Paris"


def test_service_role_key_is_refused_on_human_routes(app, client_as):
    admin = client_as(Role.ADMIN)
    data = new_key(admin, role="service")
    by_key = with_key(app, data["key"])
    assert by_key.simulate_get(URL).status_code == 403
    assert by_key.simulate_get("/api/v1/settings").status_code == 403


def test_key_of_a_disabled_user_is_401(app, owner):
    user, client = owner
    data = new_key(client)
    user.disabled = True
    user.save()
    assert with_key(app, data["key"]).simulate_get("/api/v1/apps").status_code == 401


# -- revoke --------------------------------------------------------------------------


def test_revoke_is_immediate_despite_the_remembered_check(app, owner):
    _, client = owner
    data = new_key(client)
    by_key = with_key(app, data["key"])
    assert by_key.simulate_get("/api/v1/apps").status_code == 200  # now remembered

    r = client.simulate_delete(f"{URL}/{data['id']}")
    assert r.status_code == 204
    assert r.text == ""

    r = by_key.simulate_get("/api/v1/apps")
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert client.simulate_get(URL).json["data"] == []
    assert ApiKey.get_by_id(data["id"]).revoked is not None
    # revoking twice: the key is gone
    assert client.simulate_delete(f"{URL}/{data['id']}").status_code == 404


def test_deleting_another_users_key_is_404(app, owner, client_as):
    _, client = owner
    data = new_key(client)
    other = client_as(Role.ADMIN)  # even an admin: these are one's own keys
    r = other.simulate_delete(f"{URL}/{data['id']}")
    assert r.status_code == 404
    assert r.json["error"]["code"] == "NOT_FOUND"
    assert with_key(app, data["key"]).simulate_get("/api/v1/apps").status_code == 200


@pytest.mark.parametrize("key_id", ["0", "-1", "abc", "1e3", "99999999999999999999", "\u0661"])
def test_deleting_a_bad_id_is_404(owner, key_id):
    _, client = owner
    r = client.simulate_delete(f"{URL}/{key_id}")
    assert r.status_code == 404, r.text


def test_roles_on_the_routes(anonymous, client_as, db):
    assert anonymous.simulate_get(URL).status_code == 401
    assert anonymous.simulate_post(URL, json={"name": "x"}).status_code == 401
    assert anonymous.simulate_delete(f"{URL}/1").status_code == 401
    viewer = client_as(Role.VIEWER)
    assert new_key(viewer)["role"] == "viewer"


# -- cost: at most one hash check ----------------------------------------------------


@pytest.fixture
def hash_checks(monkeypatch) -> list[str]:
    calls: list[str] = []
    original = passwords.verify_secret

    def counting(stored_hash, secret):
        calls.append(secret)
        return original(stored_hash, secret)

    monkeypatch.setattr(passwords, "verify_secret", counting)
    return calls


def test_at_most_one_hash_check_per_request(app, owner, hash_checks):
    _, client = owner
    data = new_key(client)
    by_key = with_key(app, data["key"])

    hash_checks.clear()
    assert by_key.simulate_get("/api/v1/apps").status_code == 200
    assert len(hash_checks) <= 1

    hash_checks.clear()
    assert by_key.simulate_get("/api/v1/apps").status_code == 200
    assert hash_checks == []  # remembered

    unknown = "dck_" + "z" * 12 + "_" + "A" * 43
    assert KEY_RE.match(unknown)
    hash_checks.clear()
    assert with_key(app, unknown).simulate_get("/api/v1/apps").status_code == 401
    assert hash_checks == []

    for malformed in ("nonsense", "dck_short_x", data["key"] + "x", data["key"].upper()):
        hash_checks.clear()
        assert with_key(app, malformed).simulate_get("/api/v1/apps").status_code == 401
        assert hash_checks == []


def test_wrong_secret_with_a_known_prefix_costs_one_check(app, owner, hash_checks):
    _, client = owner
    data = new_key(client)
    forged = data["key"][:-1] + ("A" if data["key"][-1] != "A" else "B")
    hash_checks.clear()
    assert with_key(app, forged).simulate_get("/api/v1/apps").status_code == 401
    assert len(hash_checks) == 1
    # the forged key is not remembered: the real one still needs its own check
    hash_checks.clear()
    assert with_key(app, data["key"]).simulate_get("/api/v1/apps").status_code == 200
    assert len(hash_checks) == 1


# -- the cap per user ------------------------------------------------------------------


def test_keys_per_user_are_capped_with_409(db, make_user, token_for):
    settings = load_settings(environment="test", rate_limit_per_minute=100_000, api_keys_per_user=3)
    services = build_services(settings, store=MemoryStore())
    app = create_app(settings, bind_database=False, services=services)
    user = make_user(Role.VIEWER)
    client = falcon.testing.TestClient(app, headers={"Authorization": f"Bearer {token_for(user)}"})
    ids = [new_key(client, f"k{n}")["id"] for n in range(3)]
    refused = create(client, "one too many")
    assert refused.status_code == 409, refused.text
    error = refused.json["error"]
    assert error["code"] == "CONFLICT"
    assert "3" in error["message"]
    assert ApiKey.select().where(ApiKey.user == user.id).count() == 3
    # Another user has their own allowance; a revoked key frees a place.
    other = make_user(Role.VIEWER)
    assert (
        create(
            falcon.testing.TestClient(app, headers={"Authorization": f"Bearer {token_for(other)}"})
        ).status_code
        == 201
    )
    assert client.simulate_delete(f"{URL}/{ids[0]}").status_code == 204
    assert create(client, "replacement").status_code == 201


def test_the_default_cap_is_twenty():
    assert load_settings(environment="test").api_keys_per_user == 20
