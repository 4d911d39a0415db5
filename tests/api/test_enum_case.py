"""Enumerated query values are read in any case and answered in their canonical case."""

from __future__ import annotations

import falcon.testing
import pytest

from control.enums import RunStatus
from control.kv.memory import MemoryStore
from control.settings import load_settings
from tests.factories import make_app, make_runtime
from web.app import create_app
from web.openapi import collect_operations
from web.validation import _choices, parse_query
from web.wiring import build_services

API = "/api/v1"


def enum_parameters() -> list[tuple[str, str, str]]:
    """(model, parameter, canonical value) for every enumerated query parameter of the API."""
    app = create_app(
        load_settings(),
        bind_database=False,
        services=build_services(load_settings(), store=MemoryStore()),
    )
    found = set()
    for _, _, op in collect_operations(app):
        if op is None or op.query is None:
            continue
        for name, info in op.query.model_fields.items():
            for choice in _choices(info.annotation):
                found.add((op.query, info.alias or name, choice))
    return sorted(found, key=lambda f: (f[0].__name__, f[1], f[2]))


ENUMS = enum_parameters()


def test_the_api_has_enumerated_query_parameters():
    names = {name for _, name, _ in ENUMS}
    assert {"run_status", "status", "period", "bucket", "format", "outcome"} <= names


@pytest.mark.parametrize(
    ("model", "name", "canonical"), ENUMS, ids=lambda v: getattr(v, "__name__", str(v))
)
def test_every_enumerated_query_value_is_read_in_any_case(model, name, canonical):
    for sent in (
        canonical.lower(),
        canonical.upper(),
        canonical.swapcase(),
        f" {canonical.title()} ",
    ):
        req = falcon.testing.create_req(query_string=f"{name}={sent}")
        parsed = parse_query(req, model).model_dump(by_alias=True, mode="json")
        assert parsed[name] == canonical, sent


def test_run_status_in_lower_case_filters_apps(client):
    running = make_app(run_status=RunStatus.RUNNING)
    make_app(run_status=RunStatus.IDLE)
    result = client.simulate_get(f"{API}/apps", params={"run_status": "running"})
    assert result.status_code == 200, result.text
    assert [a["id"] for a in result.json["data"]] == [running.id]
    assert result.json["data"][0]["run_status"] == "RUNNING"


def test_runtime_status_and_bucket_any_case(client):
    make_runtime(make_app(), status="COMPLETED")
    result = client.simulate_get(f"{API}/runtimes", params={"status": "Completed"})
    assert result.status_code == 200, result.text
    assert [r["status"] for r in result.json["data"]] == ["COMPLETED"]
    trends = client.simulate_get(f"{API}/performance/functions/trends", params={"bucket": "DAY"})
    assert trends.status_code == 200, trends.text
    assert trends.json["meta"]["bucket"] == "day"


def test_a_value_that_is_no_choice_in_any_case_is_still_a_422(client):
    result = client.simulate_get(f"{API}/apps", params={"run_status": "sprinting"})
    assert result.status_code == 422
    assert result.json["error"]["details"][0]["field"] == "run_status"
