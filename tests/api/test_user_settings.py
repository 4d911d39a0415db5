"""GET/PATCH /api/v1/settings: the caller's own settings, on SQLite and PostgreSQL."""

from __future__ import annotations

import falcon.testing
import pytest

from control.auth.models import ServiceClient, User
from control.auth.roles import Role
from control.auth.tokens import new_id

URL = "/api/v1/settings"
DEFAULTS = {
    "timezone": "UTC",
    "display": {"theme": "light", "page_size": 20, "date_format": "iso"},
    "views": {},
}


@pytest.fixture
def user_client(app, make_user, token_for):
    """(user, client) for a viewer: settings are everyone's, the least role included."""
    user = make_user(Role.VIEWER)
    token = token_for(user)
    return user, falcon.testing.TestClient(app, headers={"Authorization": f"Bearer {token}"})


def service_client(app, services, password_hash, role: Role) -> falcon.testing.TestClient:
    client = ServiceClient.create(
        client_id=f"svc-{new_id()[:8].lower()}",
        name=f"svc {new_id()[:8]}",
        secret_hash=password_hash,
        role=role,
    )
    token = services.tokens.issue(
        subject=client.client_id,
        role=role,
        subject_type="service",
        use="access",
        session_id=new_id(),
    ).token
    return falcon.testing.TestClient(app, headers={"Authorization": f"Bearer {token}"})


def test_defaults(user_client):
    _, client = user_client
    r = client.simulate_get(URL)
    assert r.status_code == 200, r.text
    assert r.json == {"data": DEFAULTS}


def test_patch_merges_and_persists(user_client):
    user, client = user_client
    r = client.simulate_patch(URL, json={"timezone": "Europe/Berlin"})
    assert r.status_code == 200, r.text
    assert r.json["data"] == {**DEFAULTS, "timezone": "Europe/Berlin"}

    r = client.simulate_patch(URL, json={"display": {"theme": "dark", "page_size": 50}})
    assert r.status_code == 200, r.text
    expected = {
        "timezone": "Europe/Berlin",
        "display": {"theme": "dark", "page_size": 50, "date_format": "iso"},
        "views": {},
    }
    assert r.json["data"] == expected
    assert client.simulate_get(URL).json["data"] == expected
    # only the choices are stored, not the defaults
    assert User.get_by_id(user.id).settings == {
        "timezone": "Europe/Berlin",
        "display": {"theme": "dark", "page_size": 50},
    }


def test_null_restores_the_default(user_client):
    _, client = user_client
    client.simulate_patch(URL, json={"timezone": "Asia/Tokyo", "display": {"theme": "system"}})
    r = client.simulate_patch(URL, json={"timezone": None, "display": {"theme": None}})
    assert r.status_code == 200, r.text
    assert r.json["data"] == DEFAULTS


def test_settings_are_per_user(user_client, client_as):
    _, client = user_client
    client.simulate_patch(URL, json={"timezone": "America/New_York"})
    other = client_as(Role.ADMIN)
    assert other.simulate_get(URL).json["data"] == DEFAULTS


@pytest.mark.parametrize("timezone", ["Mars/Olympus_Mons", "Europe", "../etc/passwd", "utc"])
def test_unknown_timezone_names_the_field(user_client, timezone):
    _, client = user_client
    r = client.simulate_patch(URL, json={"timezone": timezone})
    assert r.status_code in (400, 422), r.text
    assert [d["field"] for d in r.json["error"]["details"]] == ["timezone"]
    assert client.simulate_get(URL).json["data"] == DEFAULTS


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"language": "de"}, "language"),
        ({"display": {"font": "serif"}}, "display.font"),
        ({"display": {"theme": "neon"}}, "display.theme"),
        ({"display": {"page_size": 5}}, "display.page_size"),
        ({"display": {"page_size": 101}}, "display.page_size"),
        ({"display": {"date_format": "us"}}, "display.date_format"),
        ({"timezone": "x" * 65}, "timezone"),
    ],
)
def test_unknown_or_bad_keys_are_422(user_client, body, field):
    _, client = user_client
    r = client.simulate_patch(URL, json=body)
    assert r.status_code == 422, r.text
    assert field in [d["field"] for d in r.json["error"]["details"]]


@pytest.mark.parametrize("role", [Role.VIEWER, Role.OPERATOR, Role.ADMIN])
def test_every_human_role_manages_their_own(client_as, role):
    client = client_as(role)
    r = client.simulate_patch(URL, json={"display": {"date_format": "locale"}})
    assert r.status_code == 200, r.text
    assert client.simulate_get(URL).json["data"]["display"]["date_format"] == "locale"


def test_service_principal_is_403(app, services, password_hash, db):
    client = service_client(app, services, password_hash, Role.SERVICE)
    assert client.simulate_get(URL).status_code == 403
    assert client.simulate_patch(URL, json={"timezone": "UTC"}).status_code == 403


def test_service_client_with_a_human_role_is_still_403(app, services, password_hash, db):
    # the route table admits the role; the resource still needs a user behind it
    client = service_client(app, services, password_hash, Role.ADMIN)
    r = client.simulate_get(URL)
    assert r.status_code == 403
    assert r.json["error"]["code"] == "FORBIDDEN"


def test_anonymous_is_401(anonymous, db):
    assert anonymous.simulate_get(URL).status_code == 401
    assert anonymous.simulate_patch(URL, json={}).status_code == 401


def test_response_matches_the_model(user_client):
    from web.schemas.settings import UserSettingsResponse

    _, client = user_client
    UserSettingsResponse.model_validate(client.simulate_get(URL).json)


def test_a_hand_edited_row_cannot_break_the_shape(user_client):
    user, client = user_client
    User.update(settings={"timezone": 3, "display": "dark", "junk": {"a": 1}}).where(
        User.id == user.id
    ).execute()
    r = client.simulate_get(URL)
    assert r.status_code == 200
    assert r.json["data"]["timezone"] == "UTC"
    assert r.json["data"]["display"] == DEFAULTS["display"]
    assert "junk" not in r.json["data"]


def test_saved_views_are_added_replaced_and_deleted_by_name(user_client, client_as):
    _, client = user_client
    running = {"path": "/dashboard/apps/running?q=de&sort=-next_run"}
    r = client.simulate_patch(URL, json={"views": {"Running DE": running}})
    assert r.status_code == 200, r.text
    assert r.json["data"]["views"] == {"Running DE": running}
    fatal = {"path": "/dashboard/apps/fatal"}
    client.simulate_patch(URL, json={"views": {"Fatal": fatal}})
    assert client.simulate_get(URL).json["data"]["views"] == {"Running DE": running, "Fatal": fatal}
    r = client.simulate_patch(URL, json={"views": {"Running DE": None}})
    assert r.json["data"]["views"] == {"Fatal": fatal}
    # per user: another user sees none of them
    assert client_as(Role.OPERATOR).simulate_get(URL).json["data"]["views"] == {}


@pytest.mark.parametrize(
    "views",
    [
        {"x": {"path": "https://evil.example/dashboard/apps"}},
        {"x": {"path": "/dashboard/login"}},
        {"x": {"path": "/dashboard/apps/all", "extra": 1}},
        {"": {"path": "/dashboard/apps/all"}},
        {"x" * 61: {"path": "/dashboard/apps/all"}},
        {"x": "/dashboard/apps/all"},
    ],
)
def test_bad_saved_views_are_refused_in_the_error_shape(user_client, views):
    _, client = user_client
    r = client.simulate_patch(URL, json={"views": views})
    assert r.status_code in (400, 422), r.text
    assert r.json["error"]["details"]
