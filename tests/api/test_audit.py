"""The audit trail: every write once, refused ones too, secrets never stored or logged.

Runs on SQLite and PostgreSQL. Small inline resources stand in for write endpoints that
do not exist yet; the auth endpoints are the real ones.
"""

from __future__ import annotations

import io
import logging
import re
from typing import Any

import falcon
import falcon.asgi
import falcon.testing
import pytest

from control.audit.models import AuditLog
from control.auth.roles import Role
from control.errors import Conflict
from control.kv.memory import MemoryStore
from control.log_context import FORMAT, RequestIdFilter
from control.settings import load_settings
from tests.api.conftest import PASSWORD
from web.app import create_app
from web.middleware.audit import action_for, outcome_of
from web.openapi import operation
from web.permissions import ADMIN, READ
from web.routing import Router, RouteTable
from web.validation import BodyModel
from web.wiring import build_services

WIDGETS = "/api/v1/test/widgets"
ADMIN_ONLY = "/api/v1/test/admin-things"
LOGIN = "/api/v1/auth/token"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
KEYS = "/api/v1/settings/api-keys"
WRONG_PASSWORD = "Tr0ub4dor&3-wrong-password"


class Widget(BodyModel):
    name: str
    password: str | None = None
    client_secret: str | None = None
    nested: dict[str, Any] | None = None


class WidgetsResource:
    @operation("List widgets", roles=READ)
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        resp.media = {"data": []}

    @operation("Create a widget", body=Widget, status=201, roles=READ)
    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        if req.context.body.name == "taken":
            raise Conflict("A widget with this name exists.")
        if req.context.body.name == "boom":
            raise RuntimeError("the widget factory exploded")
        if req.context.body.name == "renamed":
            req.context.audit_action = "widgets.special"
        resp.status = 201
        resp.media = {"data": {"name": req.context.body.name}}

    @operation("Update a widget", body=Widget, roles=READ)
    async def on_patch_item(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, widget_id: str
    ) -> None:
        resp.media = {"data": {"id": widget_id}}

    @operation("Delete a widget", status=204, roles=READ)
    async def on_delete_item(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, widget_id: str
    ) -> None:
        resp.status = 204

    @operation("Start a widget", status=202, roles=READ)
    async def on_post_start(
        self, req: falcon.asgi.Request, resp: falcon.asgi.Response, widget_id: str
    ) -> None:
        resp.status = 202


class AdminThingsResource:
    @operation("Create an admin thing", body=Widget, status=201, roles=ADMIN)
    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        resp.status = 201


def _install(app: falcon.asgi.App) -> None:
    widgets = WidgetsResource()
    app.add_route(WIDGETS, widgets)
    app.add_route(f"{WIDGETS}/{{widget_id}}", widgets, suffix="item")
    app.add_route(f"{WIDGETS}/{{widget_id}}/start", widgets, suffix="start")
    app.add_route(ADMIN_ONLY, AdminThingsResource())


@pytest.fixture
def app(settings, services):
    app = create_app(settings, bind_database=False, services=services)
    _install(app)
    return app


def rows() -> list[AuditLog]:
    return list(AuditLog.select().order_by(AuditLog.id))


def only_row() -> AuditLog:
    found = rows()
    assert len(found) == 1, [(r.action, r.status) for r in found]
    return found[0]


def bearer_client(app, token: str, **headers: str) -> falcon.testing.TestClient:
    return falcon.testing.TestClient(app, headers={"Authorization": f"Bearer {token}", **headers})


# -- what a row holds --------------------------------------------------------------------


def test_logout_is_audited_with_identity_ip_and_request_id(app, make_user, token_for):
    user = make_user(Role.OPERATOR)
    client = bearer_client(app, token_for(user))
    r = client.simulate_post(LOGOUT, headers={"X-Request-ID": "audit-logout-0001"})
    assert r.status_code == 204, r.text
    row = only_row()
    assert row.action == "auth.logout"
    assert row.actor == user.email
    assert row.actor_type == "user"
    assert row.role == "operator"
    assert row.ip == "127.0.0.1"
    assert row.method == "POST"
    assert row.endpoint == LOGOUT
    assert row.status == 204
    assert row.outcome == "success"
    assert row.request_id == "audit-logout-0001"
    assert row.summary == {}
    assert row.at is not None


def test_forwarded_address_from_a_trusted_proxy_is_the_ip(db, make_user, token_for):
    settings = load_settings(environment="test", trusted_proxies=["127.0.0.1/32"])
    services = build_services(settings, store=MemoryStore())
    app = create_app(settings, bind_database=False, services=services)
    user = make_user(Role.VIEWER)
    client = bearer_client(app, token_for(user), **{"X-Forwarded-For": "203.0.113.9"})
    assert client.simulate_post(LOGOUT).status_code == 204
    assert only_row().ip == "203.0.113.9"


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "action", "params"),
    [
        ("POST", WIDGETS, {"name": "a"}, 201, "test.widgets.create", None),
        (
            "PATCH",
            f"{WIDGETS}/w-1",
            {"name": "b"},
            200,
            "test.widgets.update",
            {"widget_id": "w-1"},
        ),
        ("DELETE", f"{WIDGETS}/w-2", None, 204, "test.widgets.delete", {"widget_id": "w-2"}),
        ("POST", f"{WIDGETS}/w-3/start", None, 202, "test.widgets.start", {"widget_id": "w-3"}),
        ("POST", WIDGETS, {"name": "renamed"}, 201, "widgets.special", None),
    ],
)
def test_writes_are_named_from_the_route(client_as, method, path, body, status, action, params):
    r = client_as(Role.OPERATOR).simulate_request(method, path, json=body)
    assert r.status_code == status, r.text
    row = only_row()
    assert (row.action, row.method, row.endpoint, row.status) == (action, method, path, status)
    assert row.outcome == "success"
    assert row.summary.get("params") == params
    assert row.summary.get("body") == body  # what the caller sent, validated


@pytest.mark.parametrize(
    ("name", "status", "outcome"), [("taken", 409, "failed"), ("boom", 500, "error")]
)
def test_failed_and_broken_writes_keep_their_outcome(client, name, status, outcome):
    assert client.simulate_post(WIDGETS, json={"name": name}).status_code == status
    row = only_row()
    assert (row.status, row.outcome, row.role) == (status, outcome, "admin")


def test_invalid_body_is_audited_without_it(client):
    r = client.simulate_post(WIDGETS, json={"name": 5, "password": "hunter2-invalid"})
    assert r.status_code == 422
    row = only_row()
    assert (row.action, row.outcome, row.summary) == ("test.widgets.create", "failed", {})


def test_body_secrets_are_stored_redacted(client):
    body = {
        "name": "visible",
        "password": "pw-plain-text-123",
        "client_secret": "cs-plain-text-456",
        "nested": {"api_key": "ak-plain-text-789", "note": "kept", "deeper": {"token": "t"}},
    }
    assert client.simulate_post(WIDGETS, json=body).status_code == 201
    stored = only_row().summary["body"]
    assert stored == {
        "name": "visible",
        "password": "[redacted]",
        "client_secret": "[redacted]",
        "nested": {"api_key": "[redacted]", "note": "kept", "deeper": {"token": "[redacted]"}},
    }
    raw = str(AuditLog.select(AuditLog.summary).tuples()[:])
    for secret in ("pw-plain-text-123", "cs-plain-text-456", "ak-plain-text-789"):
        assert secret not in raw


def test_a_huge_body_is_summarised_by_its_field_names(client):
    assert client.simulate_post(WIDGETS, json={"name": "x" * 20_000}).status_code == 201
    assert only_row().summary == {"body": {"truncated": True, "fields": ["name"]}}


def test_reads_and_unrouted_writes_are_not_audited(client):
    assert client.simulate_get(WIDGETS).status_code == 200
    assert client.simulate_get("/api/v1/apps").status_code == 200
    assert client.simulate_post("/api/v1/nothing-here", json={}).status_code == 404
    assert client.simulate_delete("/api/v1/apps").status_code == 405
    client.simulate_options(WIDGETS)
    assert rows() == []


def test_a_failing_audit_write_never_breaks_the_answer(client, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("audit store on fire")

    monkeypatch.setattr("web.middleware.audit.audit.record", broken)
    r = client.simulate_post(WIDGETS, json={"name": "fine"})
    assert r.status_code == 201
    assert r.json == {"data": {"name": "fine"}}
    assert "could not audit POST /api/v1/test/widgets" in caplog.text
    assert rows() == []


# -- refused writes ----------------------------------------------------------------------


def test_anonymous_write_is_denied_and_audited(anonymous):
    r = anonymous.simulate_post(f"{WIDGETS}/w-9/start", headers={"X-Request-ID": "anon-req-0001"})
    assert r.status_code == 401
    row = only_row()
    assert (row.actor, row.actor_type, row.role) == ("anonymous", "anonymous", None)
    assert (row.action, row.status, row.outcome) == ("test.widgets.start", 401, "denied")
    assert row.summary == {"params": {"widget_id": "w-9"}}
    assert row.request_id == "anon-req-0001"
    assert row.ip == "127.0.0.1"


def test_invalid_token_write_is_denied_and_audited(app):
    r = bearer_client(app, "not-a-jwt-at-all").simulate_post(LOGOUT)
    assert r.status_code == 401
    row = only_row()
    assert (row.action, row.actor, row.outcome) == ("auth.logout", "anonymous", "denied")


def test_viewer_on_an_admin_route_is_denied_and_audited(app, make_user, token_for):
    viewer = make_user(Role.VIEWER)
    r = bearer_client(app, token_for(viewer)).simulate_post(
        ADMIN_ONLY, json={"name": "x", "password": "never-parsed-secret"}
    )
    assert r.status_code == 403
    row = only_row()
    assert (row.actor, row.role, row.actor_type) == (viewer.email, "viewer", "user")
    # a POST-only path reads as a verb (no GET makes it a collection)
    assert (row.action, row.status, row.outcome) == ("test.admin_things", 403, "denied")
    assert row.summary == {}  # the body of a refused request is never read


def test_write_refused_by_the_rate_limiter_is_audited(db):
    settings = load_settings(environment="test", rate_limit_per_minute=2)
    services = build_services(settings, store=MemoryStore())
    app = create_app(settings, bind_database=False, services=services)
    client = falcon.testing.TestClient(app)
    statuses = [client.simulate_post(LOGOUT).status_code for _ in range(3)]
    assert statuses == [401, 401, 429]
    found = rows()
    assert [(r.action, r.status, r.outcome) for r in found] == [
        ("auth.logout", 401, "denied"),
        ("auth.logout", 401, "denied"),
        ("auth.logout", 429, "failed"),
    ]
    assert found[-1].endpoint == LOGOUT


def test_body_over_the_limit_is_audited(db, make_user, token_for):
    settings = load_settings(environment="test", max_body_bytes=2048)
    services = build_services(settings, store=MemoryStore())
    app = create_app(settings, bind_database=False, services=services)
    _install(app)
    client = bearer_client(app, token_for(make_user(Role.ADMIN)))
    r = client.simulate_patch(f"{WIDGETS}/big", json={"name": "x" * 5000})
    assert r.status_code == 413
    row = only_row()
    assert (row.action, row.status, row.outcome) == ("test.widgets.update", 413, "failed")
    assert row.summary == {"params": {"widget_id": "big"}}
    # refused before authentication: the caller is not known yet
    assert row.actor == "anonymous"


# -- authentication endpoints ------------------------------------------------------------


def login(client: falcon.testing.TestClient, email: str, password: str) -> falcon.testing.Result:
    return client.simulate_post(LOGIN, json={"username": email, "password": password})


def test_failed_login_is_recorded_once_with_ip_and_no_password(anonymous, make_user):
    user = make_user(Role.OPERATOR)
    r = login(anonymous, user.email, WRONG_PASSWORD)
    assert r.status_code == 401
    row = only_row()
    assert (row.action, row.outcome, row.actor, row.ip) == (
        "auth.login_failed",
        "failed",
        user.email,
        "127.0.0.1",
    )
    assert WRONG_PASSWORD not in str(row.summary)


def test_successful_login_is_recorded_once(anonymous, make_user):
    user = make_user(Role.ADMIN)
    assert login(anonymous, user.email, PASSWORD).status_code == 200
    row = only_row()
    assert (row.action, row.outcome, row.actor, row.role) == (
        "auth.login",
        "success",
        user.email,
        "admin",
    )


def test_throttled_and_invalid_logins_are_recorded_here(anonymous, make_user):
    user = make_user(Role.VIEWER)
    for _ in range(5):
        assert login(anonymous, user.email, WRONG_PASSWORD).status_code == 401
    assert login(anonymous, user.email, WRONG_PASSWORD).status_code == 429  # account throttle
    assert anonymous.simulate_post(LOGIN, json={"username": "ab"}).status_code == 422
    assert anonymous.simulate_post(LOGIN, body="x", content_type="text/plain").status_code == 415
    found = rows()
    assert [(r.action, r.status, r.outcome) for r in found] == [
        *[("auth.login_failed", None, "failed")] * 5,
        ("auth.token", 429, "failed"),
        ("auth.token", 422, "failed"),
        ("auth.token", 415, "failed"),
    ]
    throttled = found[5]
    assert throttled.actor == user.email  # filed under the account it tried
    assert throttled.summary["body"]["password"] == "[redacted]"
    assert WRONG_PASSWORD not in str([r.summary for r in found])


def test_refresh_success_invalid_and_reuse(anonymous, make_user):
    user = make_user(Role.OPERATOR)
    pair = login(anonymous, user.email, PASSWORD).json["data"]
    used = pair["refresh_token"]
    assert anonymous.simulate_post(REFRESH, json={"refresh_token": used}).status_code == 200
    assert anonymous.simulate_post(REFRESH, json={"refresh_token": "x" * 40}).status_code == 401
    assert anonymous.simulate_post(REFRESH, json={"refresh_token": used}).status_code == 401
    actions = [(r.action, r.outcome) for r in rows()]
    assert actions == [
        ("auth.login", "success"),
        ("auth.refresh", "success"),
        ("auth.refresh", "denied"),  # an invalid token
        ("auth.refresh_reuse", "denied"),  # reuse: the service's row, not a second one
    ]
    assert used not in str([r.summary for r in rows()])


# -- nothing secret reaches the logs -----------------------------------------------------


def test_no_password_token_or_key_in_audit_rows_or_logs(app, anonymous, make_user, caplog):
    caplog.set_level(logging.DEBUG)
    user = make_user(Role.OPERATOR)
    assert login(anonymous, user.email, WRONG_PASSWORD).status_code == 401
    pair = login(anonymous, user.email, PASSWORD).json["data"]
    access, refresh = pair["access_token"], pair["refresh_token"]
    bearer = bearer_client(app, access)
    key = bearer.simulate_post(KEYS, json={"name": "ci"}).json["data"]["key"]
    keyed = falcon.testing.TestClient(app, headers={"X-API-Key": key})
    assert keyed.simulate_get("/api/v1/auth/me").status_code == 200
    assert keyed.simulate_post(WIDGETS, json={"name": "k", "password": PASSWORD}).status_code == 201
    new = anonymous.simulate_post(REFRESH, json={"refresh_token": refresh}).json["data"]
    assert bearer_client(app, new["access_token"]).simulate_post(LOGOUT).status_code == 204
    assert bearer.simulate_post(LOGOUT).status_code == 401  # the session has ended

    secrets = [PASSWORD, WRONG_PASSWORD, access, refresh, new["access_token"], key]
    secrets += [new["refresh_token"], key.split("_", 2)[2]]
    stored = str([(r.actor, r.summary, r.endpoint) for r in rows()])
    assert caplog.text  # the flow did log (SQL at DEBUG, access lines, auth events)
    for secret in secrets:
        assert secret not in caplog.text
        assert secret not in stored
    actions = [r.action for r in rows()]
    assert "settings.api_keys.create" in actions
    assert actions.count("auth.logout") == 2


def test_user_text_cannot_forge_log_lines(client):
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        forged = "\n2025-01-01 00:00:00,000 INFO web.access [x] POST /api/v1/admin 200"
        client.simulate_post(f"{WIDGETS}/a{forged}\r\x1b[2J/start")
        logging.getLogger("test").warning("user said %s", forged)
    finally:
        root.removeHandler(handler)
    lines = out.getvalue().splitlines()
    assert lines
    stamp = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ ")
    assert all(stamp.match(line) for line in lines), lines
    assert not any("2025-01-01 00:00:00,000" in line[:30] for line in lines)


# -- the naming rules --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "method", "action"),
    [
        ("/api/v1/auth/token", "POST", "auth.token"),
        ("/api/v1/auth/logout", "POST", "auth.logout"),
        ("/api/v1/settings", "PATCH", "settings.update"),
        ("/api/v1/settings/api-keys", "POST", "settings.api_keys.create"),
        ("/api/v1/settings/api-keys/{key_id}", "DELETE", "settings.api_keys.delete"),
        ("/api/v1/apps/{app_id}", "PUT", "apps.update"),
        ("/api/v1/apps", "POST", "apps.create"),  # a collection: it has a GET
        ("/api/v1/apps/{app_id}/start", "POST", "apps.start"),
        ("/api/v1/bulk/start", "POST", "bulk.start"),
    ],
)
def test_action_names(app, template, method, action):
    assert action_for(template, method, RouteTable(app._router)) == action


def test_requests_refused_before_routing_are_named_by_the_router():
    class Things:
        async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
            pass

    router = Router()
    app = falcon.asgi.App(router=router)
    app.add_route("/api/v1/x/{item}", Things())
    app.add_route("/api/v1/x/special", Things())
    routes = RouteTable(router)
    assert routes.template_for("/api/v1/x/special", "POST") == "/api/v1/x/special"
    assert routes.template_for("/api/v1/x/other", "POST") == "/api/v1/x/{item}"
    assert routes.template_for("/api/v1/x/other", "DELETE") is None
    assert routes.template_for("/api/v1/x/a/b", "POST") is None


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, "success"),
        (302, "success"),
        (401, "denied"),
        (403, "denied"),
        (404, "failed"),
        (429, "failed"),
        (500, "error"),
        (503, "error"),
    ],
)
def test_outcomes(status, outcome):
    assert outcome_of(status) == outcome
