"""System: host metrics, the redacted configuration and its run-time changes, detailed
health, and the Prometheus endpoint."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

import falcon.testing
import pytest

from control.audit.models import AuditLog
from control.auth.roles import Role
from control.clock import utcnow
from control.enums import FatalFlag, RunStatus
from control.events.memory import MemoryBus
from control.kv.memory import MemoryStore
from control.settings import Settings, load_settings
from control.system.models import RuntimeSetting, SystemMetric
from control.system.prometheus import sample_value
from control.system.redaction import MASK
from tests.conftest import TEST_SECRET
from tests.factories import make_app
from web.app import create_app
from web.wiring import build_services

METRICS = "/api/v1/system/metrics"
CONFIG = "/api/v1/system/config"
HEALTH = "/api/v1/system/health"
PROMETHEUS = "/metrics"

DB_PASSWORD = "Sup3rS3cret"
REDIS_PASSWORD = "R3disPass"
RABBIT_PASSWORD = "Rabb1tPass"


@pytest.fixture
def client_for(make_user) -> Callable[..., falcon.testing.TestClient]:
    """A client of an app built from ``settings``, as a user of ``role`` (or anonymous)."""

    def build(settings: Settings, role: Role | None = Role.ADMIN) -> falcon.testing.TestClient:
        services = build_services(settings, store=MemoryStore(), bus=MemoryBus())
        services.runtime.load(startup=True)  # as the composition root does at start
        app = create_app(settings, bind_database=False, services=services)
        if role is None:
            return falcon.testing.TestClient(app)
        user = make_user(role)
        token = services.tokens.issue(
            subject=user.email, role=role, subject_type="user", use="access", session_id="s1"
        ).token
        return falcon.testing.TestClient(app, headers={"Authorization": f"Bearer {token}"})

    return build


# --- metrics ------------------------------------------------------------------------


def test_metrics_now_has_plausible_figures(client_as, db):
    r = client_as(Role.VIEWER).simulate_get(METRICS)
    assert r.status_code == 200, r.text
    now = r.json["data"]["now"]
    for name in ("cpu_percent", "memory_percent", "disk_percent", "swap_percent"):
        assert 0 <= now[name] <= 100, name
    assert now["memory_total"] >= now["memory_used"] > 0
    assert now["disk_total"] >= now["disk_used"] > 0
    assert now["process_count"] >= 1
    assert now["process_rss"] > 0
    assert now["process_threads"] >= 1
    assert now["uptime_seconds"] > 0
    assert now["cpu_count"] >= 1
    assert now["load_1"] is None or now["load_1"] >= 0
    assert now["boot_time"].endswith("Z")
    assert r.json["data"]["history"] == []


def _seed_history(base: dt.datetime) -> None:
    for minutes, cpu in ((0, 10.0), (1, 20.0), (2, 30.0)):
        SystemMetric.create(
            at=base + dt.timedelta(minutes=minutes),
            cpu_percent=cpu,
            memory_percent=50.0 + minutes,
            disk_percent=40.0,
            load_1=0.5,
            process_count=100 + minutes,
            data={"swap_percent": 0.0},
        )


def test_metrics_history_in_order_and_filtered(client_as, db):
    base = utcnow().replace(microsecond=0) - dt.timedelta(minutes=10)
    _seed_history(base)
    client = client_as(Role.VIEWER)

    history = client.simulate_get(METRICS).json["data"]["history"]
    assert [p["cpu_percent"] for p in history] == [10.0, 20.0, 30.0]
    assert [p["process_count"] for p in history] == [100, 101, 102]

    window = {
        "from": (base + dt.timedelta(seconds=30)).isoformat(),
        "to": (base + dt.timedelta(minutes=2)).isoformat(),
    }
    r = client.simulate_get(METRICS, params=window)
    assert r.status_code == 200, r.text
    assert [p["cpu_percent"] for p in r.json["data"]["history"]] == [20.0]
    assert r.json["data"]["bucket_seconds"] is None


def test_metrics_history_bucketed_averages(client_as, db):
    base = dt.datetime(2025, 1, 15, 7, 0)
    _seed_history(base)
    params = {
        "from": base.isoformat() + "Z",
        "to": (base + dt.timedelta(hours=1)).isoformat() + "Z",
        "bucket": "600",
    }
    r = client_as(Role.VIEWER).simulate_get(METRICS, params=params)
    assert r.status_code == 200, r.text
    data = r.json["data"]
    assert data["bucket_seconds"] == 600
    assert data["history"] == [
        {
            "at": "2025-01-15T07:00:00Z",
            "cpu_percent": 20.0,
            "memory_percent": 51.0,
            "disk_percent": 40.0,
            "load_1": 0.5,
            "process_count": 101.0,
            "samples": 3,
        }
    ]


def test_metrics_window_must_be_ordered(client_as, db):
    r = client_as(Role.VIEWER).simulate_get(
        METRICS, params={"from": "2025-01-02T00:00:00Z", "to": "2025-01-01T00:00:00Z"}
    )
    assert r.status_code == 400
    assert r.json["error"]["details"][0]["field"] == "from"


def test_metrics_need_authentication(anonymous, db):
    r = anonymous.simulate_get(METRICS)
    assert r.status_code == 401
    assert "www-authenticate" in r.headers


# --- configuration ------------------------------------------------------------------


def secret_settings(**extra) -> Settings:
    return load_settings(
        environment="test",
        rate_limit_per_minute=100_000,
        auth_rate_limit_per_minute=100_000,
        database_url=f"postgresql://dbuser:{DB_PASSWORD}@db.internal:5432/dc",
        redis_url=f"redis://:{REDIS_PASSWORD}@cache:6379/0",
        rabbitmq_url=f"amqp://mq:{RABBIT_PASSWORD}@mq:5672/vh",
        **extra,
    )


def test_config_shows_every_setting_and_no_secret(client_for, db):
    settings = secret_settings()
    r = client_for(settings).simulate_get(CONFIG)
    assert r.status_code == 200, r.text
    entries = r.json["data"]["settings"]
    assert set(entries) == set(Settings.model_fields)
    for leaked in (DB_PASSWORD, REDIS_PASSWORD, RABBIT_PASSWORD, TEST_SECRET, "dbuser", "//mq:"):
        assert leaked not in r.text, leaked
    assert entries["jwt_secret"]["value"] == MASK
    assert entries["database_url"]["value"] == "postgresql://***:***@db.internal:5432/dc"
    assert entries["redis_url"]["value"] == "redis://***:***@cache:6379/0"
    assert entries["rabbitmq_url"]["value"] == "amqp://***:***@mq:5672/vh"
    assert entries["database_url"]["source"] == "environment"
    assert entries["api_port"] == {"value": 8000, "source": "default", "changeable": False}
    limit = entries["rate_limit_per_minute"]
    assert limit["changeable"] is True
    assert limit["applies"] == "live"
    assert entries["cors_origins"]["applies"] == "restart"


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.VIEWER])
def test_config_is_for_admins_only(client_as, db, role):
    client = client_as(role)
    assert client.simulate_get(CONFIG).status_code == 403
    r = client.simulate_post(CONFIG, json={"changes": {"rate_limit_per_minute": 5}})
    assert r.status_code == 403


def test_post_applies_live_persists_and_audits(client_for, anonymous_app_client, db):
    settings = load_settings(environment="test", rate_limit_per_minute=100_000)
    admin, anonymous = anonymous_app_client(settings)
    assert anonymous.simulate_get(HEALTH).headers["x-ratelimit-limit"] == "100000"

    r = admin.simulate_post(CONFIG, json={"changes": {"rate_limit_per_minute": 4321}})
    assert r.status_code == 200, r.text
    entry = r.json["data"]["settings"]["rate_limit_per_minute"]
    assert entry["value"] == 4321
    assert entry["source"] == "runtime"
    assert entry["updated_by"].startswith("admin-")

    # the same process follows at once, without a restart
    assert anonymous.simulate_get(HEALTH).headers["x-ratelimit-limit"] == "4321"
    # persisted
    assert RuntimeSetting.get_by_id("rate_limit_per_minute").value == 4321
    again = admin.simulate_get(CONFIG).json["data"]["settings"]["rate_limit_per_minute"]
    assert (again["value"], again["source"]) == (4321, "runtime")
    # audited once, with the change
    rows = list(AuditLog.select().where(AuditLog.action == "system.config.update"))
    assert len(rows) == 1
    row = rows[0]
    assert (row.outcome, row.status, row.role, row.endpoint) == ("success", 200, "admin", CONFIG)
    assert row.summary == {
        "changes": [{"setting": "rate_limit_per_minute", "from": 100_000, "to": 4321}]
    }


@pytest.fixture
def anonymous_app_client(client_for, make_user):
    """(admin client, anonymous client) of the same app."""

    def build(settings: Settings):
        admin = client_for(settings)
        return admin, falcon.testing.TestClient(admin.app)

    return build


@pytest.fixture
def root_level():
    """Restores the root logger's level after a test that changes it."""
    level = logging.getLogger().level
    yield
    logging.getLogger().setLevel(level)


def test_a_new_process_starts_with_stored_settings(client_for, db, root_level):
    settings = load_settings(environment="test", rate_limit_per_minute=100_000)
    admin = client_for(settings)
    changes = {"rate_limit_per_minute": 777, "max_body_bytes": 4096, "log_level": "warning"}
    r = admin.simulate_post(CONFIG, json={"changes": changes})
    assert r.status_code == 200, r.text
    entries = r.json["data"]["settings"]
    assert entries["max_body_bytes"]["pending_restart"] is True  # not live in this process
    assert entries["log_level"]["value"] == "WARNING"
    assert logging.getLogger().level == logging.WARNING

    other = client_for(settings)  # another process: reads the table when it starts
    entries = other.simulate_get(CONFIG).json["data"]["settings"]
    assert entries["max_body_bytes"]["pending_restart"] is False
    anonymous = falcon.testing.TestClient(other.app)
    assert anonymous.simulate_get(HEALTH).headers["x-ratelimit-limit"] == "777"
    big = anonymous.simulate_post("/api/v1/auth/token", body="x" * 5000)
    assert big.status_code == 413

    # null restores the environment's value
    r = admin.simulate_post(CONFIG, json={"changes": {"log_level": None}})
    assert r.json["data"]["settings"]["log_level"]["source"] == "default"
    assert logging.getLogger().level == logging.INFO


def test_unknown_and_fixed_settings_are_refused(client, db):
    r = client.simulate_post(CONFIG, json={"changes": {"no_such_thing": 1}})
    assert r.status_code == 400
    assert r.json["error"]["details"][0]["field"] == "changes.no_such_thing"

    r = client.simulate_post(CONFIG, json={"changes": {"jwt_secret": "x" * 40}})
    assert r.status_code == 400
    assert r.json["error"]["details"][0]["field"] == "changes.jwt_secret"
    assert "x" * 40 not in r.text
    assert RuntimeSetting.select().count() == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"cors_origins": ["*"]}, "changes.cors_origins"),
        ({"cors_origins": ["https://ok.example.com", "not an origin"]}, "changes.cors_origins"),
        ({"rate_limit_per_minute": 0}, "changes.rate_limit_per_minute"),
        ({"rate_limit_per_minute": "100"}, "changes.rate_limit_per_minute"),
        ({"log_level": "LOUD"}, "changes.log_level"),
        ({"dashboard_enabled": "yes"}, "changes.dashboard_enabled"),
    ],
)
def test_bad_values_are_refused(client, db, changes, field):
    r = client.simulate_post(CONFIG, json={"changes": changes})
    assert r.status_code == 422, r.text
    assert r.json["error"]["details"][0]["field"] == field
    assert RuntimeSetting.select().count() == 0


def test_empty_or_flat_bodies_are_refused(client, db):
    assert client.simulate_post(CONFIG, json={"changes": {}}).status_code == 422
    r = client.simulate_post(CONFIG, json={"rate_limit_per_minute": 5})
    assert r.status_code == 422


def test_refused_change_is_audited_as_failed_without_secrets(client, db):
    changes = {
        "jwt_secret": "y" * 40,
        "database_url": f"postgresql://dbuser:{DB_PASSWORD}@db:5432/dc",
    }
    assert client.simulate_post(CONFIG, json={"changes": changes}).status_code == 400
    row = AuditLog.get(AuditLog.action == "system.config.update")
    assert (row.outcome, row.status) == ("failed", 400)
    assert "y" * 40 not in str(row.summary)
    assert DB_PASSWORD not in str(row.summary)
    assert row.summary["body"]["changes"]["database_url"] == "postgresql://***:***@db:5432/dc"


# --- detailed health ----------------------------------------------------------------


def test_detailed_health_names_the_failing_part(client_for, db):
    settings = load_settings(
        environment="test",
        rate_limit_per_minute=100_000,
        rabbitmq_url="amqp://guest:guest@127.0.0.1:1/",
    )
    r = client_for(settings, Role.VIEWER).simulate_get(HEALTH, params={"detailed": "true"})
    assert r.status_code == 503
    data = r.json["data"]
    assert data["status"] == "unhealthy"
    assert data["failing"] == ["rabbitmq"]
    assert data["checks"]["rabbitmq"]["status"] == "down"
    assert data["checks"]["rabbitmq"]["latency_ms"] >= 0
    assert data["checks"]["database"]["status"] == "up"


def test_detailed_health_in_process_is_healthy(client_as, db):
    r = client_as(Role.VIEWER).simulate_get(HEALTH, params={"detailed": "true"})
    assert r.status_code == 200
    checks = r.json["data"]["checks"]
    assert r.json["data"]["failing"] == []
    assert checks["rabbitmq"] == {"status": "in-process"}
    assert checks["redis"] == {"status": "in-process"}
    assert 0 <= checks["disk"]["percent"] <= 100
    assert checks["disk"]["total_bytes"] >= checks["disk"]["used_bytes"] > 0


# --- Prometheus ---------------------------------------------------------------------


def test_prometheus_from_localhost_without_credentials(anonymous, db):
    r = anonymous.simulate_get(PROMETHEUS)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    for name in (
        "dc_http_requests_total",
        "dc_http_request_duration_seconds",
        "dc_apps",
        "dc_apps_fatal",
        "dc_apps_disabled",
        "dc_pipeline_tasks_last_hour",
        "dc_commands_pending",
        "dc_outbox_lag_seconds",
    ):
        assert f"# TYPE {name} " in r.text, name


def test_prometheus_from_elsewhere_needs_credentials(anonymous, client_as, db):
    r = anonymous.simulate_get(PROMETHEUS, remote_addr="10.1.2.3")
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")
    r = client_as(Role.VIEWER).simulate_get(PROMETHEUS, remote_addr="10.1.2.3")
    assert r.status_code == 200


def test_prometheus_through_an_untrusted_proxy_needs_credentials(anonymous, db):
    r = anonymous.simulate_get(PROMETHEUS, headers={"X-Forwarded-For": "203.0.113.9"})
    assert r.status_code == 401


def test_prometheus_allowlist_is_a_setting(client_for, db):
    settings = load_settings(
        environment="test", rate_limit_per_minute=100_000, metrics_allowlist="10.1.0.0/16"
    )
    anonymous = client_for(settings, None)
    assert anonymous.simulate_get(PROMETHEUS, remote_addr="10.1.2.3").status_code == 200
    assert anonymous.simulate_get(PROMETHEUS, remote_addr="127.0.0.1").status_code == 401


def test_requests_are_counted_by_route_template(client, anonymous, db):
    app = make_app(id="x123")
    assert client.simulate_get("/api/v1/apps").status_code == 200
    assert client.simulate_get(f"/api/v1/apps/{app.id}").status_code == 200
    assert client.simulate_get("/api/v1/apps/nope").status_code == 404
    assert client.simulate_get("/no/such/path").status_code == 404

    text = anonymous.simulate_get(PROMETHEUS).text
    assert "/api/v1/apps/x123" not in text
    assert "/api/v1/apps/nope" not in text
    assert "/no/such/path" not in text
    count = "dc_http_requests_total"
    assert sample_value(text, count, {"route": "/api/v1/apps", "status": "2xx"}) == 1
    item = "/api/v1/apps/{app_id}"
    assert sample_value(text, count, {"route": item, "status": "2xx", "method": "GET"}) == 1
    assert sample_value(text, count, {"route": item, "status": "4xx"}) == 1
    assert sample_value(text, count, {"route": "<unmatched>", "status": "4xx"}) == 1
    latency = "dc_http_request_duration_seconds_count"
    assert sample_value(text, latency, {"route": item}) == 2


def test_apps_gauge_equals_seeded_counts(anonymous, db):
    make_app(run_status=RunStatus.RUNNING)
    make_app(run_status=RunStatus.RUNNING)
    make_app(run_status=RunStatus.FAILED, fatal_flag=FatalFlag.FATAL)
    make_app(disabled=True)
    text = anonymous.simulate_get(PROMETHEUS).text
    assert sample_value(text, "dc_apps", {"run_status": "RUNNING"}) == 2
    assert sample_value(text, "dc_apps", {"run_status": "FAILED"}) == 1
    assert sample_value(text, "dc_apps", {"run_status": "IDLE"}) == 1
    assert sample_value(text, "dc_apps", {"run_status": "STOPPING"}) == 0
    assert sample_value(text, "dc_apps_fatal") == 1
    assert sample_value(text, "dc_apps_disabled") == 1
    assert sample_value(text, "dc_collector_up", {"part": "apps"}) == 1
