"""Inputs a fuzzer or a careless client sends: never a 500, always the error shape.

Each case is a reproduction from issue 11: an out-of-range time, an id past 64 bits or
written in other digits, a malformed precondition, a stray character where a number goes.
"""

from __future__ import annotations

import pytest

from control.apps.models import Apps
from tests.factories import make_app, make_pipeline_task
from web.resources.apps import IF_MATCH_FORM

API = "/api/v1"
TOO_EARLY = "0001-01-01T00:00:00+01:00"  # year 0 once converted to UTC
TOO_LATE = "9999-12-31T23:59:59-01:00"  # year 10000 once converted to UTC

TIME_FILTERS = [
    ("/logs", "from"),
    ("/logs", "to"),
    ("/logs/export", "from"),
    ("/runtimes", "from"),
    ("/runtimes", "to"),
    ("/performance/functions", "from"),
    ("/performance/functions/slowest", "from"),
    ("/performance/functions/trends", "from"),
    ("/performance/functions/trends", "to"),
    ("/system/metrics", "from"),
    ("/system/metrics", "to"),
    ("/activity", "from"),
    ("/activity", "to"),
]


def assert_field_error(result, status: int, field: str) -> str:
    assert result.status_code == status, result.text
    error = result.json["error"]
    assert [d["field"] for d in error["details"]] == [field]
    return error["details"][0]["message"]


@pytest.mark.parametrize("value", [TOO_EARLY, TOO_LATE])
@pytest.mark.parametrize(("path", "field"), TIME_FILTERS)
def test_a_time_out_of_range_in_utc_is_a_422_naming_it(client, path, field, value):
    result = client.simulate_get(f"{API}{path}", params={field: value})
    message = assert_field_error(result, 422, field)
    assert "out of range" in message


def test_an_out_of_range_next_run_is_a_422_and_changes_nothing(client):
    target = make_app()
    result = client.simulate_patch(
        f"{API}/apps/{target.id}", json={"next_run": TOO_EARLY}, headers={"If-Match": "*"}
    )
    assert_field_error(result, 422, "next_run")
    assert Apps.get_by_id(target.id).version == 1


def test_times_at_the_edges_still_work(client):
    result = client.simulate_get(f"{API}/logs", params={"from": "0001-01-01T00:00:00Z"})
    assert result.status_code == 200


@pytest.mark.parametrize(
    "raw_id",
    [
        "9223372036854775808",  # past 64 bits
        "2147483648",  # past the INTEGER key
        "%C2%B2",  # '²': str.isdigit() says yes, int() says no
        "%D9%A3",  # Arabic-Indic 3: int() reads it as 3
        "0",
        "-1",
        "1e3",
    ],
)
@pytest.mark.parametrize(
    "template",
    [
        "/pipelines/tasks/{}",
        "/notifications/channels/{}",
        "/settings/api-keys/{}",
    ],
)
def test_a_path_id_that_is_no_row_id_is_a_404(client, template, raw_id):
    method = "DELETE" if "api-keys" in template else "GET"
    result = client.simulate_request(method, f"{API}{template.format(raw_id)}")
    assert result.status_code == 404, result.text
    assert result.json["error"]["code"] == "NOT_FOUND"


def test_a_path_id_in_ascii_digits_still_finds_its_row(client):
    task = make_pipeline_task(make_app())
    result = client.simulate_get(f"{API}/pipelines/tasks/{task.id}")
    assert result.status_code == 200
    assert result.json["data"]["id"] == task.id


@pytest.mark.parametrize("value", ["9223372036854775809", "2147483648", "0", "²"])
def test_a_query_id_out_of_range_is_a_422(client, value):
    result = client.simulate_get(f"{API}/notifications/history", params={"channel_id": value})
    assert_field_error(result, 422, "channel_id")


@pytest.mark.parametrize("if_match", ['W/"\xb2"', '"\xb2"', 'W/"99999999999999999999999"'])
def test_a_well_formed_if_match_naming_no_version_is_412(client, if_match):
    target = make_app()
    result = client.simulate_patch(
        f"{API}/apps/{target.id}", json={"disabled": True}, headers={"If-Match": if_match}
    )
    assert result.status_code == 412, result.text
    assert result.json["error"]["code"] == "PRECONDITION_FAILED"
    assert Apps.get_by_id(target.id).disabled is False


@pytest.mark.parametrize("if_match", ["\xb2", "W/", 'W/"1', '"1" "2"', "W/ 1", '"a b"'])
def test_a_malformed_if_match_is_400_without_echoing_it(client, if_match):
    target = make_app()
    result = client.simulate_patch(
        f"{API}/apps/{target.id}", json={"disabled": True}, headers={"If-Match": if_match}
    )
    message = assert_field_error(result, 400, "If-Match")
    assert message == IF_MATCH_FORM  # the expected form, not the input echoed
    assert Apps.get_by_id(target.id).disabled is False


@pytest.mark.parametrize("level", ["\xb2", "\u0663", "1\xb2"])
def test_a_422_message_speaks_the_api_not_python(client, level):
    result = client.simulate_get(f"{API}/logs", params={"level": level})
    message = assert_field_error(result, 422, "level")
    assert "invalid literal" not in message
    assert "int()" not in message
    assert not message.startswith("Value error")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/apps/a%00b"),
        ("GET", "/runtimes/a%00b"),
        ("GET", "/commands/a%00b"),
        ("GET", "/bulk/jobs/a%00b"),
        ("GET", "/performance/functions/a%00b"),
        ("POST", "/apps/a%00b/start"),
    ],
)
def test_a_nul_in_a_path_id_is_a_404(client, method, path):
    # PostgreSQL refuses NUL in any string it is sent: this was a 500 there
    result = client.simulate_request(method, f"{API}{path}")
    assert result.status_code == 404, result.text


@pytest.mark.parametrize(
    ("path", "field"),
    [("/apps", "group"), ("/apps", "q"), ("/logs", "search"), ("/activity", "actor")],
)
def test_a_nul_in_a_query_value_is_a_422_naming_it(client, path, field):
    result = client.simulate_get(f"{API}{path}", params={field: "a\x00b"})
    message = assert_field_error(result, 422, field)
    assert "NUL" in message


def test_a_nul_in_a_body_is_a_422_naming_the_field(client):
    target = make_app()
    result = client.simulate_patch(
        f"{API}/apps/{target.id}",
        json={"settings": {"source": {"url": "https://x\x00y"}}},
        headers={"If-Match": "*"},
    )
    assert_field_error(result, 422, "settings.source.url")
    login = client.simulate_post(
        f"{API}/auth/token", json={"username": "a\x00@example.com", "password": "x"}
    )
    assert_field_error(login, 422, "username")
