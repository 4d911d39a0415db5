"""GET /api/v1/pipelines/...: tasks, throughput and errors on SQLite and PostgreSQL.

The figures are checked against numbers worked out by hand from the seeded rows. The
HTTP tests seed relative to the real clock with wide margins; the boundary tests call
the service with a fixed ``now``.
"""

from __future__ import annotations

import datetime as dt

import pytest

from control.auth.roles import Role
from control.clock import utcnow
from control.enums import PipelineStatus
from control.pipelines import services
from control.pipelines import stages as services_stages
from tests.factories import make_app, make_pipeline_task

COMPLETED, FAILED = PipelineStatus.COMPLETED, PipelineStatus.FAILED
PROCESSING, RETRYING = PipelineStatus.PROCESSING, PipelineStatus.RETRYING


def ago(now: dt.datetime, **delta: float) -> dt.datetime:
    return now - dt.timedelta(**delta)


@pytest.fixture
def seeded(db):
    """Two document types; ages in minutes before now.

    invoice: completed 30' (10 s), 120' (20 s), 300' (30 s); failed 180' (OCR); processing
    10'; completed 30 h ago (100 s, only in last_7d).
    company_registration: completed 20' (5 s) and 25' (6.25 s); failed 40' (NER) and
    50' (OCR); completed 8 days ago (outside every period).
    """
    now = utcnow()
    a = make_app(id="scraper_invoices")
    b = make_app(id="scraper_company_registry")

    def task(app, document_type, minutes, status, **fields):
        created = ago(now, minutes=minutes)
        values = {"created": created, "updated": created, "status": status}
        values.update(fields)
        return make_pipeline_task(app, document_type=document_type, **values)

    rows = {
        "inv_30": task(a, "invoice", 30, COMPLETED, duration_seconds=10.0, stage="DONE"),
        "inv_120": task(a, "invoice", 120, COMPLETED, duration_seconds=20.0, stage="DONE"),
        "inv_300": task(a, "invoice", 300, COMPLETED, duration_seconds=30.0, stage="DONE"),
        "inv_fail": task(
            a,
            "invoice",
            180,
            FAILED,
            stage="OCR",
            error="OCR timeout",
            error_stage="OCR",
            retries=3,
            ended=ago(now, minutes=170),
        ),
        "inv_busy": task(a, "invoice", 10, PROCESSING, stage="NER"),
        "inv_old": task(a, "invoice", 30 * 60, COMPLETED, duration_seconds=100.0, stage="DONE"),
        "reg_20": task(b, "company_registration", 20, COMPLETED, duration_seconds=5.0),
        "reg_25": task(b, "company_registration", 25, COMPLETED, duration_seconds=6.25),
        "reg_fail_ner": task(
            b,
            "company_registration",
            40,
            FAILED,
            stage="NER",
            error="no entities",
            error_stage="NER",
            ended=ago(now, minutes=35),
        ),
        "reg_fail_ocr": task(
            b,
            "company_registration",
            50,
            FAILED,
            stage="OCR",
            error="blank page",
            error_stage="OCR",
            ended=ago(now, minutes=45),
        ),
        "reg_ancient": task(b, "company_registration", 8 * 24 * 60, COMPLETED),
    }
    return rows


# ---------------------------------------------------------------- tasks


def test_list_envelope_meta_and_default_newest_first(client, seeded):
    r = client.simulate_get("/api/v1/pipelines/tasks", params={"per_page": "4"})
    assert r.status_code == 200, r.text
    assert r.json["meta"] == {"page": 1, "per_page": 4, "total": 11, "total_pages": 3}
    ids = [t["id"] for t in r.json["data"]]
    assert ids == [seeded[k].id for k in ("inv_busy", "reg_20", "reg_25", "inv_30")]
    page3 = client.simulate_get("/api/v1/pipelines/tasks", params={"per_page": "4", "page": "3"})
    assert [t["id"] for t in page3.json["data"]] == [
        seeded[k].id for k in ("inv_300", "inv_old", "reg_ancient")
    ]


def test_list_item_shape(client, seeded):
    from web.schemas.pipelines import TaskListResponse

    r = client.simulate_get(
        "/api/v1/pipelines/tasks", params={"status": "FAILED", "document_type": "invoice"}
    )
    TaskListResponse.model_validate(r.json)
    (item,) = r.json["data"]
    assert item["app_id"] == "scraper_invoices"
    assert item["status"] == "FAILED"
    assert item["stage"] == "OCR"
    assert item["error"] == "OCR timeout"
    assert item["error_stage"] == "OCR"
    assert item["retries"] == 3
    assert item["created"].endswith("Z")


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (
            {"document_type": "invoice"},
            {"inv_30", "inv_120", "inv_300", "inv_fail", "inv_busy", "inv_old"},
        ),
        ({"status": "FAILED"}, {"inv_fail", "reg_fail_ner", "reg_fail_ocr"}),
        ({"stage": "OCR"}, {"inv_fail", "reg_fail_ocr"}),
        (
            {"document_type": "company_registration", "status": "COMPLETED"},
            {"reg_20", "reg_25", "reg_ancient"},
        ),
        ({"app": "scraper_company_registry", "stage": "NER"}, {"reg_fail_ner"}),
        ({"status": "RETRYING"}, set()),
        ({"document_type": "nope"}, set()),
    ],
)
def test_filters(client, seeded, params, expected):
    r = client.simulate_get("/api/v1/pipelines/tasks", params={**params, "per_page": "100"})
    assert r.status_code == 200, r.text
    assert {t["id"] for t in r.json["data"]} == {seeded[k].id for k in expected}
    assert r.json["meta"]["total"] == len(expected)


def test_sort_by_duration_and_retries(client, seeded):
    r = client.simulate_get(
        "/api/v1/pipelines/tasks",
        params={"status": "COMPLETED", "document_type": "invoice", "sort": "-duration_seconds"},
    )
    assert [t["duration_seconds"] for t in r.json["data"]] == [100.0, 30.0, 20.0, 10.0]
    r = client.simulate_get(
        "/api/v1/pipelines/tasks", params={"status": "FAILED", "sort": "-retries,created"}
    )
    assert [t["id"] for t in r.json["data"]] == [
        seeded[k].id for k in ("inv_fail", "reg_fail_ocr", "reg_fail_ner")
    ]


def test_bad_sort_status_and_unknown_parameter(client, seeded):
    assert (
        client.simulate_get("/api/v1/pipelines/tasks", params={"sort": "error"}).status_code == 400
    )
    assert (
        client.simulate_get("/api/v1/pipelines/tasks", params={"status": "DONE"}).status_code == 422
    )
    r = client.simulate_get("/api/v1/pipelines/tasks", params={"colour": "red"})
    assert r.status_code == 400
    assert r.json["error"]["code"] == "UNKNOWN_PARAMETER"


def test_detail(client, seeded):
    task = make_pipeline_task(
        make_app(id="scraper_detail"),
        document_type="invoice",
        document_ref="inv-2025-0042.pdf",
        stage="NER",
        status=RETRYING,
        retries=2,
        error="model timeout",
        error_stage="NER",
        stage_durations={"RECEIVED": 0.4, "OCR": 7.5},
    )
    r = client.simulate_get(f"/api/v1/pipelines/tasks/{task.id}")
    assert r.status_code == 200, r.text
    data = r.json["data"]
    assert data["id"] == task.id
    assert data["document_ref"] == "inv-2025-0042.pdf"
    assert data["stage"] == "NER"
    assert data["status"] == "RETRYING"
    assert data["retries"] == 2
    assert data["error"] == "model timeout"
    assert data["error_stage"] == "NER"
    assert data["stage_durations"] == {"RECEIVED": 0.4, "OCR": 7.5}
    from web.schemas.pipelines import TaskDetailResponse

    TaskDetailResponse.model_validate(r.json)


@pytest.mark.parametrize("task_id", ["999999", "abc", "-1"])
def test_detail_unknown_is_404(client, db, task_id):
    r = client.simulate_get(f"/api/v1/pipelines/tasks/{task_id}")
    assert r.status_code == 404
    assert r.json["error"]["code"] == "NOT_FOUND"


# ---------------------------------------------------------------- throughput


def test_throughput_last_24h_by_hand(client, seeded):
    r = client.simulate_get("/api/v1/pipelines/throughput", params={"period": "last_24h"})
    assert r.status_code == 200, r.text
    data = r.json["data"]
    assert data["period"] == "last_24h"
    assert data["pipelines"] == [
        {
            # 20', 25', 40', 50'; the 8-day-old one is out
            "document_type": "company_registration",
            "total_tasks": 4,
            "completed": 2,
            "failed": 2,
            "avg_duration_seconds": 5.6,  # (5 + 6.25) / 2 = 5.625
            "throughput_per_hour": 0.2,  # 4 tasks / 24 h = 0.167
            "success_rate": 0.5,
            "failure_rate": 0.5,
        },
        {
            # 10' (processing), 30', 120', 180' (failed), 300'; the 30-hour-old one is out
            "document_type": "invoice",
            "total_tasks": 5,
            "completed": 3,
            "failed": 1,
            "avg_duration_seconds": 20.0,  # (10 + 20 + 30) / 3
            "throughput_per_hour": 0.2,  # 5 tasks / 24 h = 0.208
            "success_rate": 0.6,
            "failure_rate": 0.2,
        },
    ]
    since = dt.datetime.fromisoformat(data["since"].replace("Z", ""))
    until = dt.datetime.fromisoformat(data["until"].replace("Z", ""))
    assert until - since == dt.timedelta(hours=24)
    from web.schemas.pipelines import ThroughputResponse

    ThroughputResponse.model_validate(r.json)


def test_throughput_last_1h_and_last_7d(client, seeded):
    hour = client.simulate_get("/api/v1/pipelines/throughput", params={"period": "last_1h"})
    by_type = {p["document_type"]: p for p in hour.json["data"]["pipelines"]}
    assert by_type["invoice"] == {
        "document_type": "invoice",
        "total_tasks": 2,  # 10' processing, 30' completed
        "completed": 1,
        "failed": 0,
        "avg_duration_seconds": 10.0,
        "throughput_per_hour": 2.0,  # 2 tasks in the hour
        "success_rate": 0.5,
        "failure_rate": 0.0,
    }
    assert by_type["company_registration"]["throughput_per_hour"] == 4.0
    assert by_type["company_registration"]["total_tasks"] == 4

    week = client.simulate_get("/api/v1/pipelines/throughput", params={"period": "last_7d"})
    by_type = {p["document_type"]: p for p in week.json["data"]["pipelines"]}
    assert by_type["invoice"] == {
        "document_type": "invoice",
        "total_tasks": 6,
        "completed": 4,
        "failed": 1,
        "avg_duration_seconds": 40.0,  # (10 + 20 + 30 + 100) / 4
        "throughput_per_hour": 0.0,  # 6 tasks / 168 h = 0.036
        "success_rate": 0.667,
        "failure_rate": 0.167,
    }
    assert by_type["company_registration"]["total_tasks"] == 4  # 8 days is out


def test_throughput_default_period_bad_period_and_empty(client, db):
    r = client.simulate_get("/api/v1/pipelines/throughput")
    assert r.status_code == 200
    assert r.json["data"]["period"] == "last_24h"
    assert r.json["data"]["pipelines"] == []
    assert (
        client.simulate_get(
            "/api/v1/pipelines/throughput", params={"period": "last_2d"}
        ).status_code
        == 422
    )


def test_throughput_window_is_start_inclusive_end_exclusive(db):
    now = dt.datetime(2025, 1, 15, 12, 0)
    app = make_app()
    for created, duration in [
        (now - dt.timedelta(hours=1), 4.0),  # exactly at the start: in
        (now - dt.timedelta(minutes=1), 8.0),  # in
        (now, 100.0),  # exactly at the end: out
        (now - dt.timedelta(hours=1, seconds=1), 100.0),  # just before: out
    ]:
        make_pipeline_task(app, created=created, status=COMPLETED, duration_seconds=duration)
    make_pipeline_task(app, created=now - dt.timedelta(minutes=5), status=COMPLETED)  # no duration
    result = services.throughput("last_1h", now=now)
    assert result["since"] == now - dt.timedelta(hours=1)
    assert result["until"] == now
    assert result["pipelines"] == [
        {
            "document_type": "invoice",
            "total_tasks": 3,
            "completed": 3,
            "failed": 0,
            "avg_duration_seconds": 6.0,  # a task without a duration does not count
            "throughput_per_hour": 3.0,
            "success_rate": 1.0,
            "failure_rate": 0.0,
        }
    ]


def test_throughput_average_is_null_without_completed_durations(db):
    now = dt.datetime(2025, 1, 15, 12, 0)
    app = make_app()
    make_pipeline_task(app, created=now - dt.timedelta(minutes=5), status=FAILED)
    make_pipeline_task(app, created=now - dt.timedelta(minutes=6), status=FAILED)
    (row,) = services.throughput("last_1h", now=now)["pipelines"]
    assert row["avg_duration_seconds"] is None
    assert (row["total_tasks"], row["completed"], row["failed"]) == (2, 0, 2)
    assert (row["success_rate"], row["failure_rate"]) == (0.0, 1.0)


# ---------------------------------------------------------------- errors


def test_errors_grouped_by_document_type(client, seeded):
    r = client.simulate_get("/api/v1/pipelines/errors", params={"period": "last_24h"})
    assert r.status_code == 200, r.text
    from web.schemas.pipelines import PipelineErrorsResponse

    PipelineErrorsResponse.model_validate(r.json)
    groups = r.json["data"]["document_types"]
    assert [g["document_type"] for g in groups] == ["company_registration", "invoice"]
    reg, inv = groups
    assert reg["failed"] == 2
    assert reg["by_stage"] == [
        {"error_stage": "NER", "count": 1},
        {"error_stage": "OCR", "count": 1},
    ]
    # newest failure first: NER failed 35' ago, OCR 45' ago
    assert [(e["id"], e["error"], e["error_stage"]) for e in reg["recent"]] == [
        (seeded["reg_fail_ner"].id, "no entities", "NER"),
        (seeded["reg_fail_ocr"].id, "blank page", "OCR"),
    ]
    assert reg["recent"][0]["document_ref"] == seeded["reg_fail_ner"].document_ref
    assert inv["failed"] == 1
    assert inv["recent"][0]["retries"] == 3
    assert inv["by_stage"] == [{"error_stage": "OCR", "count": 1}]

    hour = client.simulate_get("/api/v1/pipelines/errors", params={"period": "last_1h"}).json
    assert [g["document_type"] for g in hour["data"]["document_types"]] == [
        "company_registration"
    ]  # the invoice failed 170' ago


def test_errors_limit_counts_and_failure_time(db):
    now = dt.datetime(2025, 1, 15, 12, 0)
    app = make_app()
    created = now - dt.timedelta(hours=5)

    def failed(minutes_ago, stage, ended=True, document_type="invoice"):
        at = now - dt.timedelta(minutes=minutes_ago)
        return make_pipeline_task(
            app,
            document_type=document_type,
            status=FAILED,
            error=f"{stage} failed {minutes_ago}' ago",
            error_stage=stage,
            created=created,
            ended=at if ended else None,
            updated=now - dt.timedelta(minutes=1) if ended else at,
        )

    t10 = failed(10, "OCR")
    t20 = failed(20, "OCR", ended=False)  # no end: its last update is when it failed
    failed(30, "NER")
    failed(40, "OCR")
    failed(50, None)
    failed(70, "OCR")  # outside last_1h by its end, although updated a minute ago
    receipt = failed(15, "NER", document_type="receipt")
    make_pipeline_task(app, status=COMPLETED, created=created, updated=now)
    make_pipeline_task(app, status=RETRYING, error="flaky", created=created, updated=now)

    result = services.errors("last_1h", limit=2, now=now)
    inv, rec = result["document_types"]
    assert inv["document_type"] == "invoice"
    assert inv["failed"] == 5
    assert inv["by_stage"] == [
        {"error_stage": "OCR", "count": 3},
        {"error_stage": None, "count": 1},
        {"error_stage": "NER", "count": 1},
    ]
    assert [e["id"] for e in inv["recent"]] == [t10.id, t20.id]
    assert inv["recent"][0]["at"] == now - dt.timedelta(minutes=10)
    assert inv["recent"][1]["at"] == now - dt.timedelta(minutes=20)
    assert rec == {
        "document_type": "receipt",
        "failed": 1,
        "by_stage": [{"error_stage": "NER", "count": 1}],
        "recent": [
            {
                "id": receipt.id,
                "document_ref": receipt.document_ref,
                "error": "NER failed 15' ago",
                "error_stage": "NER",
                "retries": 0,
                "at": now - dt.timedelta(minutes=15),
            }
        ],
    }


def test_errors_limit_bounds(client, db):
    for value, status in [("0", 422), ("51", 422), ("1", 200), ("50", 200)]:
        r = client.simulate_get("/api/v1/pipelines/errors", params={"limit": value})
        assert r.status_code == status, value


# ---------------------------------------------------------------- stage matrix


def statuses(**counts: int) -> dict[str, int]:
    return {s.value: counts.get(s.value.lower(), 0) for s in PipelineStatus}


def test_stage_matrix_last_24h_by_hand(client, seeded):
    r = client.simulate_get("/api/v1/pipelines/stages", params={"period": "last_24h"})
    assert r.status_code == 200, r.text
    from web.schemas.pipelines import StageMatrixResponse

    StageMatrixResponse.model_validate(r.json)
    data = r.json["data"]
    # seen in the window: RECEIVED (the factory's default stage), OCR, NER, DONE
    assert data["stages"] == ["RECEIVED", "OCR", "NER", "DONE"]
    reg, inv = data["document_types"]
    assert (reg["document_type"], reg["total"], reg["failed"]) == ("company_registration", 4, 2)
    assert reg["cells"] == [
        {"stage": "RECEIVED", "total": 2, "failed": 0, "by_status": statuses(completed=2)},
        {"stage": "OCR", "total": 1, "failed": 1, "by_status": statuses(failed=1)},
        {"stage": "NER", "total": 1, "failed": 1, "by_status": statuses(failed=1)},
        {"stage": "DONE", "total": 0, "failed": 0, "by_status": statuses()},
    ]
    assert (inv["document_type"], inv["total"], inv["failed"]) == ("invoice", 5, 1)
    assert [(c["stage"], c["total"], c["failed"]) for c in inv["cells"]] == [
        ("RECEIVED", 0, 0),
        ("OCR", 1, 1),
        ("NER", 1, 0),
        ("DONE", 3, 0),
    ]
    assert inv["cells"][2]["by_status"] == statuses(processing=1)


def test_stage_matrix_periods_default_and_validation(client, seeded):
    hour = client.simulate_get("/api/v1/pipelines/stages", params={"period": "last_1h"}).json
    by_type = {row["document_type"]: row for row in hour["data"]["document_types"]}
    assert by_type["invoice"]["total"] == 2  # 10' processing in NER, 30' completed
    week = client.simulate_get("/api/v1/pipelines/stages", params={"period": "last_7d"}).json
    by_type = {row["document_type"]: row for row in week["data"]["document_types"]}
    assert by_type["invoice"]["total"] == 6
    assert by_type["company_registration"]["total"] == 4  # 8 days is out
    default = client.simulate_get("/api/v1/pipelines/stages").json["data"]
    assert default["period"] == "last_24h"
    for bad in ({"period": "last_2d"}, {"period": ""}):
        r = client.simulate_get("/api/v1/pipelines/stages", params=bad)
        assert r.status_code == 422, bad
        assert r.json["error"]["details"][0]["field"] == "period"
    r = client.simulate_get("/api/v1/pipelines/stages", params={"stage": "OCR"})
    assert r.status_code == 400
    assert r.json["error"]["code"] == "UNKNOWN_PARAMETER"


def test_stage_matrix_empty_and_custom_stages_order(db):
    now = dt.datetime(2025, 1, 15, 12, 0)
    assert services_stages.stage_matrix("last_1h", now=now)["document_types"] == []
    app = make_app()
    for stage in ("ZIP", "STORED", "ARCHIVE", "OCR"):
        make_pipeline_task(app, stage=stage, created=now - dt.timedelta(minutes=5))
    make_pipeline_task(app, stage="NER", created=now)  # the end is exclusive
    result = services_stages.stage_matrix("last_1h", now=now)
    assert result["stages"] == ["OCR", "STORED", "ARCHIVE", "ZIP"]
    assert [c["total"] for c in result["document_types"][0]["cells"]] == [1, 1, 1, 1]


# ---------------------------------------------------------------- access


PATHS = [
    "/api/v1/pipelines/tasks",
    "/api/v1/pipelines/throughput",
    "/api/v1/pipelines/errors",
    "/api/v1/pipelines/stages",
]


def test_viewer_may_read_and_anonymous_may_not(client_as, anonymous, seeded):
    viewer = client_as(Role.VIEWER)
    for path in [*PATHS, f"/api/v1/pipelines/tasks/{seeded['inv_30'].id}"]:
        assert viewer.simulate_get(path).status_code == 200, path
        r = anonymous.simulate_get(path)
        assert r.status_code == 401, path
