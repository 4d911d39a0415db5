"""Every route declares its roles, and every route for every kind of caller.

A route whose responder declares no roles (``@operation(..., roles=...)`` or ``@allow``)
admits nobody and fails here. Then each route is called as anonymous, viewer, operator,
admin and service: refused ones get 401 (with WWW-Authenticate) or 403, admitted ones
neither.
"""

from __future__ import annotations

import re

import falcon.testing
import pytest

from control.auth import clients
from control.auth.roles import Role
from control.auth.tokens import new_id
from web.permissions import PUBLIC, allow
from web.routing import RouteTable, iter_routes

BODY_METHODS = {"POST", "PUT", "PATCH"}
CALLERS = ["anonymous", "viewer", "operator", "admin", "service"]


def concrete(path: str) -> str:
    """A request path for a template: every {param} becomes a harmless value."""
    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_route_declares_its_roles(app):
    undeclared = sorted((r.path, r.method) for r in iter_routes(app) if r.roles is None)
    assert not undeclared, f"responders without roles (web/permissions.py): {undeclared}"


def test_a_route_without_roles_admits_nobody(app, make_user, token_for):
    class Undeclared:
        async def on_get(self, req, resp) -> None:
            resp.media = {"data": "open"}

    class Declared:
        @allow(PUBLIC)
        async def on_get(self, req, resp) -> None:
            resp.media = {"data": "open"}

    app.add_route("/api/v1/test/undeclared", Undeclared())
    app.add_route("/api/v1/test/declared", Declared())
    client = falcon.testing.TestClient(app)
    assert client.simulate_get("/api/v1/test/undeclared").status_code == 401
    admin = {"Authorization": f"Bearer {token_for(make_user(Role.ADMIN))}"}
    assert client.simulate_get("/api/v1/test/undeclared", headers=admin).status_code == 403
    assert client.simulate_get("/api/v1/test/declared").status_code == 200


@pytest.fixture
def callers(app, make_user, services, db) -> dict[str, falcon.testing.TestClient]:
    """A client per kind of caller; each request gets a fresh token (logout revokes)."""

    def token_source(role: Role):
        if role is Role.SERVICE:
            client = clients.create_client(f"svc-{id(role)}", Role.SERVICE).client

            def service_token() -> str:
                return services.tokens.issue(
                    subject=client.client_id,
                    role=Role.SERVICE,
                    subject_type="service",
                    use="access",
                    session_id=new_id(),
                ).token

            return service_token
        user = make_user(role)

        def user_token() -> str:
            return services.tokens.issue(
                subject=user.email,
                role=role,
                subject_type="user",
                use="access",
                session_id=new_id(),
            ).token

        return user_token

    sources = {name: token_source(Role(name)) for name in CALLERS if name != "anonymous"}
    return {"client": falcon.testing.TestClient(app), **sources}


def call(callers, caller: str, method: str, path: str) -> falcon.testing.Result:
    headers = {}
    if caller != "anonymous":
        headers["Authorization"] = f"Bearer {callers[caller]()}"
    kwargs = {"json": {}} if method in BODY_METHODS else {}
    return callers["client"].simulate_request(method, concrete(path), headers=headers, **kwargs)


@pytest.mark.parametrize("caller", CALLERS)
def test_role_matrix(app, callers, caller):
    problems = []
    for route in iter_routes(app):
        if route.method == "WEBSOCKET":
            continue  # authenticated by its first message: tests/integration/test_websockets.py
        roles = route.roles  # HEAD: GET's responder
        result = call(callers, caller, route.method, route.path)
        label = f"{caller} {route.method} {route.path} -> {result.status_code}"
        if roles == PUBLIC:
            if result.status_code in (401, 403):
                problems.append(label + " (public)")
            continue
        if caller == "anonymous":
            if result.status_code != 401 or "www-authenticate" not in result.headers:
                problems.append(label)
        elif Role(caller) in roles:
            if result.status_code in (401, 403):
                problems.append(label + " (should be admitted)")
        elif result.status_code != 403:
            problems.append(label + " (should be 403)")
    assert not problems, "\n".join(problems)


def test_head_is_admitted_like_get_on_every_get_route(app):
    heads = {r.path for r in iter_routes(app) if r.method == "HEAD"}
    gets = {r.path for r in iter_routes(app) if r.method == "GET"}
    assert heads == gets
    routes = RouteTable(app._router)
    for path in heads:
        assert routes.roles(path, "HEAD") == routes.roles(path, "GET"), path
