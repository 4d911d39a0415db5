"""The OpenAPI document: valid 3.1, generated from the models, covering every route."""

from __future__ import annotations

import re

from openapi_spec_validator import validate

from web.fields import MAX_ROW_ID
from web.openapi import openapi_path, operation_of
from web.routing import iter_routes


def test_document_is_valid_openapi_31(client):
    r = client.simulate_get("/api/openapi.json")
    assert r.status_code == 200
    doc = r.json
    assert doc["openapi"] == "3.1.0"
    validate(doc)


def test_every_route_is_declared_and_documented(app, client):
    doc = client.simulate_get("/api/openapi.json").json
    for route in iter_routes(app):
        if not route.path.startswith("/api/v1") or route.method in ("WEBSOCKET", "HEAD"):
            # OpenAPI 3.1 has no WebSocket operations: see docs/websockets.md; HEAD is
            # GET's responder, stated once in info.description
            continue
        assert operation_of(route.responder) is not None, f"{route.method} {route.path}"
        assert route.method.lower() in doc["paths"][openapi_path(route.path)]


def test_apps_list_parameters_and_response_come_from_the_models(client):
    doc = client.simulate_get("/api/openapi.json").json
    get = doc["paths"]["/api/v1/apps"]["get"]
    names = {p["name"] for p in get["parameters"]}
    assert {
        "group",
        "parent",
        "run_status",
        "fatal_flag",
        "disabled",
        "q",
        "sort",
        "page",
        "per_page",
    } <= names
    per_page = next(p for p in get["parameters"] if p["name"] == "per_page")
    assert per_page["schema"]["maximum"] == 100
    assert get["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "AppListResponse"
    )
    assert "422" in get["responses"]
    assert "ErrorResponse" in doc["components"]["schemas"]
    item = doc["paths"]["/api/v1/apps/{app_id}"]["get"]
    assert item["parameters"][0]["name"] == "app_id"
    assert "404" in item["responses"]


# -- the contract: security, statuses, headers -------------------------------------------


def test_security_schemes_and_each_operations_security(client):
    doc = client.simulate_get("/api/openapi.json").json
    schemes = doc["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {
        **schemes["bearerAuth"],
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    assert schemes["apiKeyAuth"]["type"] == "apiKey"
    assert schemes["apiKeyAuth"]["in"] == "header"
    assert schemes["apiKeyAuth"]["name"] == "X-API-Key"
    either = [{"bearerAuth": []}, {"apiKeyAuth": []}]
    assert doc["paths"]["/api/v1/apps"]["get"]["security"] == either
    for path, method in (
        ("/api/v1/auth/token", "post"),
        ("/api/v1/auth/refresh", "post"),
        ("/api/v1/auth/service", "post"),
        ("/api/v1/system/health", "get"),
    ):
        assert doc["paths"][path][method]["security"] == [], path
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            assert "security" in op, (method, path)


def test_every_status_an_operation_can_answer_is_declared(client):
    doc = client.simulate_get("/api/openapi.json").json
    paths = doc["paths"]

    def statuses(path: str, method: str) -> set[str]:
        return set(paths[path][method]["responses"])

    assert {"401", "403", "404", "429", "503"} <= statuses("/api/v1/apps/{app_id}", "get")
    assert {"412", "428", "422", "403"} <= statuses("/api/v1/apps/{app_id}", "patch")
    assert "409" in statuses("/api/v1/settings/api-keys", "post")
    assert {"429", "503"} <= statuses("/api/v1/system/health", "get")
    error_ref = "#/components/schemas/ErrorResponse"
    for path, methods in paths.items():
        for method, op in methods.items():
            for status, answer in op["responses"].items():
                for name in ("X-Request-ID", "X-RateLimit-Limit", "X-RateLimit-Remaining"):
                    assert name in answer["headers"], (method, path, status)
                if int(status) >= 400 and method != "head":
                    schema = answer["content"]["application/json"]["schema"]
                    assert schema == {"$ref": error_ref}
    assert "Retry-After" in paths["/api/v1/apps"]["get"]["responses"]["429"]["headers"]


def test_patch_bodies_do_not_offer_null_where_it_is_refused(client):
    schemas = client.simulate_get("/api/openapi.json").json["components"]["schemas"]

    def accepts_null(prop: dict) -> bool:
        return prop.get("type") == "null" or any(
            branch.get("type") == "null" for branch in prop.get("anyOf", [])
        )

    app_patch = schemas["AppPatch"]["properties"]
    for name in ("settings", "timezone", "disabled"):
        assert not accepts_null(app_patch[name]), name
        assert "default" not in app_patch[name]
    assert accepts_null(app_patch["schedule"])  # null removes the schedule
    for name, prop in schemas["ChannelPatch"]["properties"].items():
        assert not accepts_null(prop), name
    assert schemas["AppPatch"]["minProperties"] == 1
    # the constraints survive the non-null type (JSON Schema keywords, not pydantic's)
    dedup = schemas["ChannelPatch"]["properties"]["dedup_window_seconds"]
    assert (dedup["minimum"], dedup["maximum"]) == (0, 7 * 86400)
    assert schemas["ChannelPatch"]["properties"]["events"]["maxItems"] == 5
    # and the server refuses exactly that
    refused = client.simulate_patch("/api/v1/apps/nope", json={"disabled": None})
    assert refused.status_code in (404, 422)


def test_sort_allowlists_and_cursors_are_in_the_schema(client):
    import re

    doc = client.simulate_get("/api/openapi.json").json
    params = {p["name"]: p for p in doc["paths"]["/api/v1/apps"]["get"]["parameters"]}
    pattern = re.compile(params["sort"]["schema"]["pattern"])
    assert pattern.match("-next_run,id")
    assert not pattern.match("password")
    assert client.simulate_get("/api/v1/apps", params={"sort": "-next_run,id"}).status_code == 200
    cursor = {p["name"]: p for p in doc["paths"]["/api/v1/runtimes"]["get"]["parameters"]}
    assert "pattern" in cursor["cursor"]["schema"]


def test_integer_path_ids_are_bounded_integers(client):
    doc = client.simulate_get("/api/openapi.json").json
    assert not [path for path in doc["paths"] if ":" in path]
    get = doc["paths"]["/api/v1/pipelines/tasks/{task_id}"]["get"]
    (task_id,) = (p for p in get["parameters"] if p["in"] == "path")
    assert task_id["name"] == "task_id"
    assert task_id["schema"] == {"type": "integer", "minimum": 1, "maximum": MAX_ROW_ID}


def test_a_bulk_dry_run_answer_is_documented(client):
    doc = client.simulate_get("/api/openapi.json").json
    for verb in ("start", "stop", "command"):
        responses = doc["paths"][f"/api/v1/bulk/{verb}"]["post"]["responses"]
        assert responses["202"]["content"]["application/json"]["schema"]["$ref"].endswith(
            "/BulkAccepted"
        )
        dry = responses["200"]["content"]["application/json"]["schema"]["$ref"]
        assert dry.endswith("/DryRunResponse")
    dry_run = doc["components"]["schemas"]["DryRun"]["properties"]
    assert {"would_apply", "would_skip", "skipped_by_reason", "apps"} <= set(dry_run)
    for verb, model in (("START", "BulkStartRequest"), ("STOP", "BulkStopRequest")):
        command = doc["components"]["schemas"][model]["properties"]["command"]
        assert re.fullmatch(command["pattern"], verb.lower())
        assert not re.fullmatch(command["pattern"], "RESTART")


def test_head_is_stated_once_not_doubled_per_path(client):
    doc = client.simulate_get("/api/openapi.json").json
    assert "HEAD" in doc["info"]["description"]
    assert not [path for path, item in doc["paths"].items() if "head" in item]
