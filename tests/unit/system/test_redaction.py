"""Redaction of the configuration view, and validation of run-time changes."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from pydantic import SecretStr

from control.errors import InvalidInput, InvalidValue
from control.settings import Settings, load_settings
from control.system import settings_registry
from control.system.models import RuntimeSetting
from control.system.redaction import MASK, redact_settings, redact_text
from control.system.runtime_settings import RuntimeConfig, effective_config, validate_changes

JWT = "jwt-Signing-Secret-0123456789-abcdefghijklmnop"
SECRETS = ("Sup3rS3cret", "R3disPass", "Rabb1tPass", JWT)


def real_looking() -> Settings:
    return load_settings(
        jwt_secret=JWT,
        database_url="postgresql://dbuser:Sup3rS3cret@db.internal:5432/dc?sslmode=require",
        redis_url="redis://:R3disPass@cache:6379/0",
        rabbitmq_url="amqp://mq:Rabb1tPass@mq:5672/vh",
        jwt_private_key_file="/etc/dc/jwt.pem",
        cors_origins=["https://ops.example.com"],
    )


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (
            "postgresql://dbuser:Sup3rS3cret@db.internal:5432/dc",
            "postgresql://***:***@db.internal:5432/dc",
        ),
        ("redis://:R3disPass@cache:6379/0", "redis://***:***@cache:6379/0"),
        ("amqp://mq:Rabb1tPass@mq:5672/vh", "amqp://***:***@mq:5672/vh"),
        ("amqp://justauser@mq/vh", "amqp://***:***@mq/vh"),
        # an unencoded @ or / in the password must not leak a part of it
        ("postgresql://u:pa@ss/wd@db:5432/dc", "postgresql://***:***@db:5432/dc"),
        (
            "postgresql://db/dc?user=me&password=hunter22&sslmode=require",
            "postgresql://db/dc?user=me&password=***&sslmode=require",
        ),
        (
            "mssql://db/dc?TrustServerCertificate=yes&api_key=abc123",
            "mssql://db/dc?TrustServerCertificate=yes&api_key=***",
        ),
        (
            "DRIVER={ODBC};SERVER=db;UID=sa;PWD={se;cr}}et};",
            "DRIVER={ODBC};SERVER=db;UID=sa;PWD=***;",
        ),
        ("host=db user=me password=hunter22", "host=db user=me password=***"),
        ("sqlite:///var/data-collector.sqlite3", "sqlite:///var/data-collector.sqlite3"),
        ("https://api.telegram.org", "https://api.telegram.org"),
        ("dc:events", "dc:events"),
    ],
)
def test_redact_text(text, shown):
    assert redact_text(text) == shown


def test_no_secret_of_real_looking_settings_is_shown():
    settings = real_looking()
    shown = redact_settings(settings)
    assert set(shown) == set(Settings.model_fields)
    text = json.dumps(shown)
    for secret in (*SECRETS, "dbuser"):
        assert secret not in text, secret
    assert shown["jwt_secret"] == MASK
    assert shown["database_url"] == "postgresql://***:***@db.internal:5432/dc?sslmode=require"
    assert shown["jwt_private_key_file"] == "/etc/dc/jwt.pem"  # a path, not the key
    assert shown["cors_origins"] == ["https://ops.example.com"]
    assert shown["api_key_header"] == "X-API-Key"
    assert shown["token_rate_limit_per_minute"] == 1000


class Extended(Settings):
    """Settings a later change might add: a secret by type under a harmless name, and a
    password declared as a plain string."""

    signing_material: SecretStr = SecretStr("material-that-must-not-leak")
    optional_material: SecretStr | None = SecretStr("optional-material-not-shown")
    smtp_password: str = "smtp-plain-password"
    webhook: str = "https://hooks.example.com/x?token=tok-value-123&team=ops"
    upstreams: list[str] = ["https://a:list-password@up.example.com"]
    motd: str = "the database password is Sup3rS3cret"


def test_redaction_follows_types_not_a_list_of_names():
    settings = Extended(
        jwt_secret=JWT, database_url="postgresql://dbuser:Sup3rS3cret@db.internal:5432/dc"
    )
    shown = redact_settings(settings)
    assert shown["signing_material"] == MASK
    assert shown["optional_material"] == MASK
    assert shown["smtp_password"] == MASK
    assert shown["webhook"] == "https://hooks.example.com/x?token=***&team=ops"
    assert shown["upstreams"] == ["https://***:***@up.example.com"]
    # the net: a known secret anywhere else masks the whole value
    assert shown["motd"] == MASK
    text = json.dumps(shown)
    for secret in ("material-that", "optional-material", "smtp-plain", "tok-value", "list-pass"):
        assert secret not in text


def test_effective_config_overlays_stored_overrides_with_sources():
    settings = real_looking()
    stored = {
        "rate_limit_per_minute": RuntimeSetting(
            key="rate_limit_per_minute",
            value=250,
            updated=dt.datetime(2025, 1, 1),
            updated_by="admin@example.com",
        )
    }
    view = effective_config(settings, running=settings, stored=stored)["settings"]
    assert view["rate_limit_per_minute"]["value"] == 250
    assert view["rate_limit_per_minute"]["source"] == "runtime"
    assert view["rate_limit_per_minute"]["updated_by"] == "admin@example.com"
    assert view["database_url"]["source"] == "environment"
    assert view["api_port"]["source"] == "default"
    assert view["jwt_secret"]["changeable"] is False
    assert view["max_body_bytes"]["pending_restart"] is False
    text = json.dumps(view, default=str)
    for secret in SECRETS:
        assert secret not in text


def test_changes_are_validated_against_the_registry():
    assert validate_changes({"log_level": "debug", "cors_origins": ["https://a.example.com/"]}) == {
        "log_level": "DEBUG",
        "cors_origins": ["https://a.example.com"],
    }
    assert validate_changes({"rate_limit_per_minute": None}) == {"rate_limit_per_minute": None}

    with pytest.raises(InvalidInput) as unknown:
        validate_changes({"jwt_secret": "z" * 40, "cors_origins": ["*"]})
    assert not isinstance(unknown.value, InvalidValue)  # a 400, web/errors.py
    assert [field for field, _ in unknown.value.details] == [
        "changes.jwt_secret",
        "changes.cors_origins",
    ]
    assert "restart" in unknown.value.details[0][1]

    with pytest.raises(InvalidValue) as refused:  # a 422
        validate_changes({"cors_origins": ["*"]})
    assert "'*' is not allowed" in refused.value.details[0][1]

    with pytest.raises(InvalidValue) as refused:
        validate_changes({"max_body_bytes": True})
    assert refused.value.field == "changes.max_body_bytes"


def test_registry_entries_are_settings():
    for name, spec in settings_registry.REGISTRY.items():
        assert name in Settings.model_fields
        assert isinstance(spec.live, bool)
    with pytest.raises(ValueError, match="not a setting"):
        settings_registry.register(
            settings_registry.SettingSpec("nope", int, "not a field", live=True)
        )


def test_runtime_config_applies_live_settings_only_after_start():
    class Holder:
        settings = load_settings(rate_limit_per_minute=100, max_body_bytes=2048)

    holder = Holder()
    runtime = RuntimeConfig(holder)
    runtime.apply({"max_body_bytes": 4096}, startup=True)
    assert holder.settings.max_body_bytes == 4096
    changed = runtime.apply({"rate_limit_per_minute": 7, "max_body_bytes": 8192})
    assert changed == ["rate_limit_per_minute"]
    assert holder.settings.rate_limit_per_minute == 7
    assert holder.settings.max_body_bytes == 4096  # waits for the restart
    assert runtime.base.rate_limit_per_minute == 100
