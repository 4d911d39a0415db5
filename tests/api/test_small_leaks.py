"""Small leaks from issue 11: secrets in app settings, the disk's path, control
characters in key names, HEAD on GET routes, and same-origin writes."""

from __future__ import annotations

import pytest

from control.apps.models import Apps
from control.auth.roles import Role
from tests.factories import make_app

API = "/api/v1"
STORED = {
    "password": "hunter2",
    "api_key": "sk-live-123",
    "batch_size": 500,
    "source": {"url": "https://example.com", "token": "t0k3n"},
    "key_id": "not-a-secret",
}
REDACTED = {
    "password": "[redacted]",
    "api_key": "[redacted]",
    "batch_size": 500,
    "source": {"url": "https://example.com", "token": "[redacted]"},
    "key_id": "not-a-secret",
}


@pytest.mark.parametrize("role", [Role.VIEWER, Role.OPERATOR, Role.SERVICE])
def test_app_settings_secrets_are_redacted_for_all_but_admins(client_as, role):
    target = make_app(settings=STORED)
    result = client_as(role).simulate_get(f"{API}/apps/{target.id}")
    assert result.status_code == 200, result.text
    assert result.json["data"]["settings"] == REDACTED
    assert "hunter2" not in result.text
    assert Apps.get_by_id(target.id).settings == STORED  # shown redacted, stored intact


def test_admins_see_and_patch_the_settings_verbatim(client_as):
    target = make_app(settings=STORED)
    admin = client_as(Role.ADMIN)
    assert admin.simulate_get(f"{API}/apps/{target.id}").json["data"]["settings"] == STORED
    changed = {**STORED, "batch_size": 10}
    result = admin.simulate_patch(
        f"{API}/apps/{target.id}", json={"settings": changed}, headers={"If-Match": "*"}
    )
    assert result.status_code == 200, result.text
    assert result.json["data"]["settings"] == changed


@pytest.mark.parametrize("role", [Role.VIEWER, Role.ADMIN])
def test_health_and_metrics_show_no_filesystem_path(client_as, sqlite_url, role):
    result = client_as(role).simulate_get(f"{API}/system/health", params={"detailed": "true"})
    assert result.status_code == 200, result.text
    disk = result.json["data"]["checks"]["disk"]
    assert "path" not in disk
    assert disk["total_bytes"] > 0
    directory = sqlite_url.split("///", 1)[1].rsplit("/", 1)[0]
    assert directory not in result.text
    metrics = client_as(role).simulate_get(f"{API}/system/metrics")
    assert metrics.status_code == 200, metrics.text
    assert "disk_path" not in metrics.json["data"]["now"]
    assert metrics.json["data"]["now"]["disk_total"] > 0
    assert directory not in metrics.text


@pytest.mark.parametrize(
    "name", ["ci\nX-Forged: 1", "tab\there", "bell\x07", "rtl\u202egnp.exe", "nul\x00"]
)
def test_api_key_names_refuse_control_characters(client, name):
    result = client.simulate_post(f"{API}/settings/api-keys", json={"name": name})
    assert result.status_code == 422, result.text
    (problem,) = result.json["error"]["details"]
    assert problem["field"] == "name"
    assert problem["message"].startswith("must not contain")  # NUL is refused first


def test_api_key_names_in_any_script_are_fine(client):
    result = client.simulate_post(f"{API}/settings/api-keys", json={"name": "Überwachung 監視 🚀"})
    assert result.status_code == 201, result.text


@pytest.mark.parametrize(
    "path",
    ["/apps", "/system/health", "/logs", "/settings", "/bulk/jobs", "/notifications/channels"],
)
def test_head_answers_like_get_without_a_body(client, path):
    get = client.simulate_get(f"{API}{path}")
    head = client.simulate_head(f"{API}{path}")
    assert head.status_code == get.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]
    assert int(head.headers["content-length"]) > 0


def test_head_needs_the_same_credentials_as_get(anonymous, client_as):
    assert anonymous.simulate_head(f"{API}/apps").status_code == 401
    assert client_as(Role.VIEWER).simulate_head(f"{API}/notifications/channels").status_code == 403


def test_a_write_from_the_apis_own_origin_is_not_refused(client):
    # Swagger UI served by the API itself: Origin names the host the request went to
    target = make_app()
    own = {"Origin": "http://falconframework.org", "Host": "falconframework.org"}
    result = client.simulate_post(f"{API}/apps/{target.id}/start", headers=own)
    assert result.status_code == 202, result.text
    foreign = {"Origin": "http://evil.example", "Host": "falconframework.org"}
    refused = client.simulate_post(f"{API}/apps/{target.id}/stop", headers=foreign)
    assert refused.status_code == 403
    assert refused.json["error"]["code"] == "ORIGIN_NOT_ALLOWED"
