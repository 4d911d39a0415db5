"""The Data Processor's builders and the admin pages' rows, from API-shaped records."""

from __future__ import annotations

import pytest

from dashboard import admin_rows, paths, pipeline_views

ZERO = {"PENDING": 0, "PROCESSING": 0, "RETRYING": 0, "COMPLETED": 0, "FAILED": 0}
MATRIX = {
    "stages": ["OCR", "NER"],
    "document_types": [
        {
            "document_type": "invoice",
            "total": 5,
            "failed": 2,
            "cells": [
                {
                    "stage": "OCR",
                    "total": 3,
                    "failed": 2,
                    "by_status": ZERO | {"FAILED": 2, "PROCESSING": 1},
                },
                {"stage": "NER", "total": 2, "failed": 0, "by_status": ZERO | {"COMPLETED": 2}},
            ],
        }
    ],
}


def _cells(component):
    _head, body = component.children
    return body.children[0].children


def test_matrix_cells_carry_counts_and_highlight_failures():
    header, ocr, ner, total = _cells(pipeline_views.stage_matrix(MATRIX))
    assert header.children == "invoice"
    assert ocr.className == "stage-cell has-failed"
    assert ocr.to_plotly_json()["props"]["data-failed"] == "2"
    assert ocr.title == "invoice in OCR: PROCESSING 1, FAILED 2"
    assert [c.children for c in ocr.children] == ["3", "2 failed"]
    assert ner.className == "stage-cell"
    assert [c.children for c in ner.children] == ["2"]
    assert total.children == "5"


def test_empty_matrix_and_errors_say_so():
    assert pipeline_views.stage_matrix({"document_types": []}).id == "matrix-empty"
    assert pipeline_views.error_groups({"document_types": []}).id == "errors-empty"


def test_stage_rows_and_errors_pick_one_stage():
    assert pipeline_views.stage_rows(MATRIX, "OCR") == [
        {
            "document_type": "invoice",
            "total": 3,
            "pending": 0,
            "processing": 1,
            "retrying": 0,
            "completed": 0,
            "failed": 2,
        }
    ]
    errors = {
        "document_types": [
            {
                "document_type": "invoice",
                "recent": [
                    {
                        "id": 1,
                        "document_ref": "a",
                        "error": "x",
                        "error_stage": "OCR",
                        "retries": 0,
                        "at": "2025-01-15T08:00:00Z",
                    },
                    {
                        "id": 2,
                        "document_ref": "b",
                        "error": None,
                        "error_stage": "NER",
                        "retries": 1,
                        "at": "2025-01-15T09:00:00Z",
                    },
                ],
            }
        ]
    }
    assert [e["id"] for e in pipeline_views.stage_errors(errors, "NER")] == [2]
    assert pipeline_views.stage_errors(errors, "OCR")[0]["at"] == "2025-01-15 08:00:00"


def test_channel_body_from_the_form():
    body = admin_rows.channel_body(
        " hooks ", "webhook", '{"url": "http://127.0.0.1:9/x"}', ["app.fatal"], "error", ["on"]
    )
    assert body == {
        "name": "hooks",
        "type": "webhook",
        "config": {"url": "http://127.0.0.1:9/x"},
        "events": ["app.fatal"],
        "min_severity": "error",
        "enabled": True,
    }
    assert admin_rows.channel_body("n", "webhook", "", [], None, [])["enabled"] is False


@pytest.mark.parametrize(
    ("name", "config", "message"),
    [("", "{}", "name"), ("n", "{bad", "not valid JSON"), ("n", "[1]", "JSON object")],
)
def test_channel_form_errors(name, config, message):
    with pytest.raises(admin_rows.FormError, match=message):
        admin_rows.channel_body(name, "webhook", config, [], "warning", ["on"])


def test_channel_row_hides_secret_flags_from_the_form():
    channel = {
        "id": 7,
        "name": "ops",
        "type": "webhook",
        "enabled": True,
        "events": ["app.fatal"],
        "config": {"url": "https://h/x", "secret_set": True},
    }
    row = admin_rows.channel_row(channel)
    assert (row["row_id"], row["target"], row["enabled"]) == ("7", "https://h/x", "yes")
    assert admin_rows.editable_config(row) == '{\n "url": "https://h/x"\n}'


def test_activity_filters_drop_blanks():
    assert admin_rows.activity_filters(" a@b.c ", "", None, "2025-01-01", "  ") == {
        "actor": "a@b.c",
        "from": "2025-01-01",
    }


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/dashboard/admin/notifications", ("admin/notifications", "")),
        ("/dashboard/admin/activity/", ("admin/activity", "")),
        ("/dashboard/admin/dead-jobs", ("admin/dead-jobs", "")),
        ("/dashboard/admin/users", ("missing", "/dashboard/admin/users")),
        ("/dashboard/admin", ("missing", "/dashboard/admin")),
    ],
)
def test_admin_routes(path, expected):
    assert paths.route(path) == expected
