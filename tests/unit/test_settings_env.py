"""Settings: DC_* variables, env file, lists, and one-line failures."""

from __future__ import annotations

import pytest

from control.errors import ConfigurationError
from control.settings import load_settings

SECRET = "s" * 40


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    import os

    for name in list(os.environ):
        if name.startswith("DC_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DC_JWT_SECRET", SECRET)
    monkeypatch.chdir("/")  # no stray .env file


def test_defaults_match_the_spec_table():
    s = load_settings()
    assert (s.api_host, s.api_port, s.api_workers) == ("0.0.0.0", 8000, 4)
    assert (s.jwt_expiry_minutes, s.refresh_expiry_days) == (30, 7)
    assert s.cors_origins == []
    assert s.api_key_header == "X-API-Key"
    assert s.rate_limit_per_minute == 100
    assert s.dashboard_enabled is True
    assert s.max_body_bytes == 10 * 1024 * 1024
    assert s.rabbitmq_url is None
    assert s.redis_url is None
    assert s.embedded is True


def test_each_setting_reads_its_variable(monkeypatch):
    monkeypatch.setenv("DC_API_PORT", "9001")
    monkeypatch.setenv("DC_DASHBOARD_ENABLED", "false")
    monkeypatch.setenv("DC_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
    monkeypatch.setenv("DC_REDIS_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("DC_DATABASE_URL", "postgresql://u@h/db")
    s = load_settings()
    assert s.api_port == 9001
    assert s.dashboard_enabled is False
    assert s.embedded is False
    assert s.redis_url == "redis://127.0.0.1:6379/0"


@pytest.mark.parametrize(
    "value", ['["https://a.example", "https://b.example"]', "https://a.example, https://b.example"]
)
def test_list_settings_accept_json_or_commas(monkeypatch, value):
    monkeypatch.setenv("DC_CORS_ORIGINS", value)
    assert load_settings().cors_origins == ["https://a.example", "https://b.example"]


def test_blank_broker_url_means_in_process(monkeypatch):
    monkeypatch.setenv("DC_RABBITMQ_URL", "  ")
    assert load_settings().rabbitmq_url is None


def test_env_file_supplies_values_the_environment_lacks(monkeypatch, tmp_path):
    env_file = tmp_path / "dc.env"
    env_file.write_text("DC_API_PORT=7000\nDC_RATE_LIMIT_PER_MINUTE=5\n")
    monkeypatch.setenv("DC_ENV_FILE", str(env_file))
    monkeypatch.setenv("DC_RATE_LIMIT_PER_MINUTE", "50")
    s = load_settings()
    assert s.api_port == 7000
    assert s.rate_limit_per_minute == 50  # the environment wins


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("DC_JWT_SECRET", None, "DC_JWT_SECRET: required setting is missing"),
        ("DC_JWT_SECRET", "short", "DC_JWT_SECRET must be at least 32 bytes"),
        ("DC_API_PORT", "abc", "DC_API_PORT:"),
        ("DC_API_PORT", "70000", "DC_API_PORT:"),
        ("DC_CORS_ORIGINS", "*", "DC_CORS_ORIGINS:"),
        ("DC_DATABASE_URL", "mysql://x/y", "DC_DATABASE_URL:"),
        ("DC_LOG_LEVEL", "LOUD", "DC_LOG_LEVEL:"),
        ("DC_ENV_FILE", "/nonexistent/dc.env", "DC_ENV_FILE: no such file"),
    ],
)
def test_bad_values_fail_with_one_line_naming_the_variable(monkeypatch, name, value, expected):
    if value is None:
        monkeypatch.delenv(name)
    else:
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError) as info:
        load_settings()
    message = str(info.value)
    assert expected in message
    assert "\n" not in message


def test_rs256_needs_key_files(monkeypatch):
    monkeypatch.setenv("DC_JWT_ALGORITHM", "RS256")
    with pytest.raises(ConfigurationError, match="DC_JWT_PRIVATE_KEY_FILE"):
        load_settings()
