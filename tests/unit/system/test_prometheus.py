"""The Prometheus registry: request counters and the database collector."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from peewee import OperationalError

from control.commands.models import Command, CommandStatus, Outbox
from control.enums import CommandFlag, PipelineStatus, RunStatus
from control.system import prometheus
from control.system.prometheus import DatabaseCollector, PrometheusMetrics, sample_value
from tests.factories import make_app, make_pipeline_task

NOW = dt.datetime(2025, 1, 15, 12, 0)


def clock() -> dt.datetime:
    return NOW


def test_status_classes_and_methods():
    assert [prometheus.status_class(s) for s in (200, 204, 302, 404, 503)] == [
        "2xx",
        "2xx",
        "3xx",
        "4xx",
        "5xx",
    ]
    assert prometheus.method_label("GET") == "GET"
    assert prometheus.method_label("BREW") == "OTHER"


def test_requests_are_counted_per_registry(db):
    metrics = PrometheusMetrics()
    metrics.observe("GET", "/api/v1/apps", 200, 0.01)
    metrics.observe("GET", "/api/v1/apps", 201, 0.02)
    metrics.observe("BREW", "<unmatched>", 405, 0.001)
    text = metrics.exposition().decode()
    count = "dc_http_requests_total"
    assert sample_value(text, count, {"route": "/api/v1/apps", "status": "2xx"}) == 2
    assert sample_value(text, count, {"method": "OTHER", "status": "4xx"}) == 1
    duration = "dc_http_request_duration_seconds_sum"
    assert sample_value(text, duration, {"route": "/api/v1/apps"}) == pytest.approx(0.03)
    assert "process_cpu_seconds_total" in text  # per-process collectors, single-process mode
    # a fresh registry starts from zero
    fresh = PrometheusMetrics().exposition().decode()
    assert sample_value(fresh, count, {"route": "/api/v1/apps"}) is None


def test_database_figures(db):
    make_app(run_status=RunStatus.RUNNING)
    app = make_app(run_status=RunStatus.IDLE, disabled=True)
    recent = NOW - dt.timedelta(minutes=10)
    old = NOW - dt.timedelta(hours=3)
    for status, ended in (
        (PipelineStatus.COMPLETED, recent),
        (PipelineStatus.COMPLETED, recent),
        (PipelineStatus.FAILED, recent),
        (PipelineStatus.COMPLETED, old),
    ):
        make_pipeline_task(app, status=status, ended=ended, updated=ended)
    make_pipeline_task(app, document_type="contract", status=PipelineStatus.FAILED, updated=recent)
    make_pipeline_task(app, status=PipelineStatus.PROCESSING, updated=recent)
    for n, status in enumerate(
        (CommandStatus.PENDING, CommandStatus.PENDING, CommandStatus.PUBLISHED)
    ):
        Command.create(
            id=uuid.uuid4().hex,
            app=app.id,
            command=CommandFlag.START,
            status=status,
            requested_by="op@example.com",
            requested_at=NOW - dt.timedelta(minutes=n),
        )
    for created, published in (
        (NOW - dt.timedelta(hours=1), NOW),  # published: not lagging
        (NOW - dt.timedelta(seconds=90), None),
        (NOW - dt.timedelta(seconds=30), None),
    ):
        Outbox.create(
            kind="command",
            message_id=uuid.uuid4().hex,
            routing_key="commands.x",
            payload="{}",
            created=created,
            available_at=created,
            published_at=published,
        )

    text = PrometheusMetrics(database_collector=DatabaseCollector(clock)).exposition().decode()
    assert sample_value(text, "dc_apps", {"run_status": "RUNNING"}) == 1
    assert sample_value(text, "dc_apps", {"run_status": "IDLE"}) == 1
    assert sample_value(text, "dc_apps_disabled") == 1
    assert sample_value(text, "dc_apps_fatal") == 0
    tasks = "dc_pipeline_tasks_last_hour"
    assert sample_value(text, tasks, {"document_type": "invoice", "status": "completed"}) == 2
    assert sample_value(text, tasks, {"document_type": "invoice", "status": "failed"}) == 1
    assert sample_value(text, tasks, {"document_type": "contract", "status": "failed"}) == 1
    assert sample_value(text, "dc_commands_pending") == 2
    assert sample_value(text, "dc_outbox_unpublished") == 2
    assert sample_value(text, "dc_outbox_lag_seconds") == 90
    assert sample_value(text, "dc_collector_up", {"part": "commands"}) == 1


def test_empty_outbox_has_no_lag(db):
    text = PrometheusMetrics(database_collector=DatabaseCollector(clock)).exposition().decode()
    assert sample_value(text, "dc_outbox_lag_seconds") == 0
    assert sample_value(text, "dc_commands_pending") == 0


def test_a_part_that_cannot_be_read_is_reported_down(db, monkeypatch):
    def broken() -> list:
        raise OperationalError("no such table: apps")

    monkeypatch.setattr(DatabaseCollector, "_apps", staticmethod(broken))
    text = PrometheusMetrics().exposition().decode()
    assert sample_value(text, "dc_collector_up", {"part": "apps"}) == 0
    assert sample_value(text, "dc_collector_up", {"part": "pipelines"}) == 1
    assert "dc_apps_fatal" not in text


def test_without_the_commands_area_the_rest_still_answers(db, monkeypatch):
    monkeypatch.setattr(prometheus, "Command", None)
    monkeypatch.setattr(prometheus, "Outbox", None)
    text = PrometheusMetrics().exposition().decode()
    assert "dc_commands_pending" not in text
    assert sample_value(text, "dc_collector_up", {"part": "apps"}) == 1


def test_multiprocess_mode_reads_the_directory(db, tmp_path, monkeypatch):
    monkeypatch.setenv(prometheus.MULTIPROC_ENV, str(tmp_path))
    metrics = PrometheusMetrics()
    text = metrics.exposition().decode()
    assert metrics.multiprocess_dir == str(tmp_path)
    assert "dc_apps" in text  # the database figures are read by whoever answers
    assert "process_cpu_seconds_total" not in text


def test_health_verdicts_are_gauges_per_verdict(db):
    from control.health.models import HealthVerdict
    from tests.factories import make_app

    a, b = make_app(), make_app()
    HealthVerdict.create(app=a.id, verdict="slow", raised_at=NOW)
    HealthVerdict.create(app=b.id, verdict="slow", raised_at=NOW)
    HealthVerdict.create(app=b.id, verdict="missed", raised_at=NOW, cleared_at=NOW)
    text = PrometheusMetrics(database_collector=DatabaseCollector()).exposition().decode()
    assert sample_value(text, "dc_app_health", {"verdict": "slow"}) == 2
    assert sample_value(text, "dc_app_health", {"verdict": "missed"}) == 0
    assert sample_value(text, "dc_collector_up", {"part": "health"}) == 1
