"""The OpenAPI document: valid 3.1, generated from the models, covering every route."""

from __future__ import annotations

from openapi_spec_validator import validate

from web.openapi import operation_of
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
        if not route.path.startswith("/api/v1") or route.method == "WEBSOCKET":
            continue  # OpenAPI 3.1 has no WebSocket operations: see docs/websockets.md
        assert operation_of(route.responder) is not None, f"{route.method} {route.path}"
        assert route.method.lower() in doc["paths"][route.path]


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
