"""Every error path answers in the one shape, with the right status and nothing internal.

Small inline resources (declared with the same `operation` decorator as real ones)
exercise the paths no real endpoint reaches yet.
"""

from __future__ import annotations

import logging

import falcon
import falcon.asgi
import falcon.testing
import pytest

from control.auth.roles import Role
from control.errors import Conflict, PreconditionFailed
from control.kv.memory import MemoryStore
from control.settings import load_settings
from tests.factories import make_app
from web.app import create_app
from web.openapi import operation
from web.permissions import READ, allow
from web.validation import BodyModel
from web.wiring import build_services


class Thing(BodyModel):
    name: str
    size: int


class ThingsResource:
    @operation("Create a thing", body=Thing, status=201, roles=READ)
    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        if req.context.body.name == "taken":
            raise Conflict("A thing with this name exists.")
        resp.status = 201
        resp.media = {"data": req.context.body.model_dump()}

    @allow(READ)
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        raise RuntimeError("SELECT secret FROM users -- /srv/app/internal.py line 12")

    @allow(READ)
    async def on_put(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        raise PreconditionFailed("The app changed since you read it.")


@pytest.fixture
def client(db, make_user, token_for) -> falcon.testing.TestClient:
    settings = load_settings(max_body_bytes=2048)
    services = build_services(settings, store=MemoryStore())
    app = create_app(settings, bind_database=False, services=services)
    app.add_route("/api/v1/test/things", ThingsResource())
    token = token_for(make_user(Role.ADMIN))
    return falcon.testing.TestClient(app, headers={"Authorization": f"Bearer {token}"})


def assert_error(result: falcon.testing.Result, status: int, code: str) -> dict:
    assert result.status_code == status, result.text
    assert result.headers["content-type"].startswith("application/json")
    body = result.json
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "details", "request_id"}
    assert error["code"] == code
    assert isinstance(error["message"], str)
    assert error["message"]
    assert isinstance(error["details"], list)
    assert error["request_id"] == result.headers["x-request-id"]
    return error


def test_unknown_route_404(client):
    assert_error(client.simulate_get("/api/v1/nothing-here"), 404, "NOT_FOUND")


def test_wrong_method_405_with_allow(client):
    r = client.simulate_delete("/api/v1/apps")
    assert_error(r, 405, "METHOD_NOT_ALLOWED")
    assert "GET" in r.headers["allow"]


def test_unsupported_media_type_415(client):
    r = client.simulate_post(
        "/api/v1/test/things", body="name=x", headers={"Content-Type": "text/plain"}
    )
    assert_error(r, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_body_too_large_413(client):
    r = client.simulate_post("/api/v1/test/things", json={"name": "x" * 4096, "size": 1})
    assert_error(r, 413, "PAYLOAD_TOO_LARGE")


def test_malformed_json_400(client):
    r = client.simulate_post(
        "/api/v1/test/things", body='{"name": ', headers={"Content-Type": "application/json"}
    )
    assert_error(r, 400, "MALFORMED_JSON")
    assert "Traceback" not in r.text


def test_missing_body_400(client):
    r = client.simulate_post(
        "/api/v1/test/things", body="", headers={"Content-Type": "application/json"}
    )
    assert_error(r, 400, "BODY_REQUIRED")


def test_validation_422_one_detail_per_field(client):
    r = client.simulate_post("/api/v1/test/things", json={"size": "big", "extra": 1})
    error = assert_error(r, 422, "VALIDATION_ERROR")
    fields = sorted(d["field"] for d in error["details"])
    assert fields == ["extra", "name", "size"]
    assert "big" not in r.text  # the offending input is not echoed back


def test_conflict_409(client):
    r = client.simulate_post("/api/v1/test/things", json={"name": "taken", "size": 1})
    error = assert_error(r, 409, "CONFLICT")
    assert error["message"] == "A thing with this name exists."


def test_precondition_412(client):
    assert_error(client.simulate_put("/api/v1/test/things"), 412, "PRECONDITION_FAILED")


def test_created_201_passes_through(client):
    r = client.simulate_post("/api/v1/test/things", json={"name": "ok", "size": 2})
    assert r.status_code == 201
    assert r.json == {"data": {"name": "ok", "size": 2}}


def test_unexpected_exception_500_leaks_nothing(client, caplog):
    with caplog.at_level(logging.ERROR):
        r = client.simulate_get("/api/v1/test/things", headers={"X-Request-ID": "req-500-abcdef"})
    error = assert_error(r, 500, "INTERNAL_ERROR")
    assert error["request_id"] == "req-500-abcdef"
    for leak in ("SELECT", "secret", "/srv/app", "internal.py", "Traceback", "RuntimeError"):
        assert leak not in r.text
    # ... but the operator finds it in the log, by request id
    assert any(getattr(rec, "request_id", None) == "req-500-abcdef" for rec in caplog.records)
    assert any(rec.exc_info for rec in caplog.records)


@pytest.mark.parametrize(
    ("params", "status", "code", "field"),
    [
        ({"sort": "password"}, 400, "BAD_REQUEST", "sort"),
        ({"sort": "-group,nope"}, 400, "BAD_REQUEST", "sort"),
        ({"colour": "red"}, 400, "UNKNOWN_PARAMETER", "colour"),
        ({"per_page": "0"}, 422, "VALIDATION_ERROR", "per_page"),
        ({"per_page": "101"}, 422, "VALIDATION_ERROR", "per_page"),
        ({"page": "abc"}, 422, "VALIDATION_ERROR", "page"),
        ({"run_status": "SLEEPING"}, 422, "VALIDATION_ERROR", "run_status"),
        ({"disabled": "perhaps"}, 422, "VALIDATION_ERROR", "disabled"),
    ],
)
def test_bad_query_parameters(client, params, status, code, field):
    error = assert_error(client.simulate_get("/api/v1/apps", params=params), status, code)
    assert [d["field"] for d in error["details"]] == [field]
    assert field in error["message"] or error["details"][0]["field"] == field


def test_an_endpoint_without_parameters_refuses_any(client, db):
    make_app(id="scraper_x")
    r = client.simulate_get("/api/v1/apps/scraper_x", params={"fields": "id"})
    error = assert_error(r, 400, "UNKNOWN_PARAMETER")
    assert [d["field"] for d in error["details"]] == ["fields"]


def test_repeated_scalar_parameter_400(client):
    r = client.simulate_get("/api/v1/apps", query_string="group=de&group=fr")
    error = assert_error(r, 400, "BAD_REQUEST")
    assert error["details"][0]["field"] == "group"


@pytest.mark.parametrize(
    ("offered", "echoed"),
    [
        ("abc-123-def-456", True),
        ("bad id with spaces", False),
        ("x" * 200, False),
        ("short", False),
    ],
)
def test_request_id_accepted_when_sane(client, offered, echoed):
    r = client.simulate_get("/api/v1/system/health", headers={"X-Request-ID": offered})
    returned = r.headers["x-request-id"]
    assert (returned == offered) is echoed
    assert 8 <= len(returned) <= 128


def test_request_id_in_every_log_line(client, caplog):
    with caplog.at_level(logging.INFO):
        client.simulate_get("/api/v1/apps", headers={"X-Request-ID": "trace-me-42424242"})
    lines = [rec for rec in caplog.records if rec.name == "web.access"]
    assert lines
    assert all(rec.request_id == "trace-me-42424242" for rec in lines)


def test_log_lines_cannot_be_forged(caplog):
    from control.log_context import RequestIdFilter

    record = logging.LogRecord("x", logging.INFO, __file__, 1, "user said %s", ("a\nFAKE b",), None)
    RequestIdFilter().filter(record)
    assert "\n" not in record.getMessage()
    assert "\\x0a" in record.getMessage()
