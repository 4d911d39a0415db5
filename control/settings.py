"""One typed settings object for every process, read from ``DC_*`` variables.

A setting ``foo_bar`` reads ``DC_FOO_BAR``. An optional env file (``DC_ENV_FILE``, or
``.env`` in the working directory when present) supplies values the environment does
not. A missing or invalid value fails at start with one line naming the variable.
"""

from __future__ import annotations

import ipaddress
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from control.errors import ConfigurationError

ENV_PREFIX = "DC_"


def _split_list(value: Any) -> Any:
    """Accept a JSON array or a comma-separated string for list settings."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return []
        if text.startswith("["):
            return json.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


StrList = Annotated[list[str], NoDecode]


class Settings(BaseSettings):
    """Every configurable value of the control plane; see the README's table."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        extra="ignore",
        case_sensitive=False,
        validate_default=True,
    )

    # API server (the spec's configuration table)
    api_host: str = "0.0.0.0"  # noqa: S104 - the spec's default; bind narrower in ops
    api_port: int = Field(8000, ge=1, le=65535)
    api_workers: int = Field(4, ge=1, le=256)

    # Tokens
    jwt_secret: SecretStr
    jwt_algorithm: Literal["HS256", "RS256"] = "HS256"
    jwt_private_key_file: Path | None = None
    jwt_public_key_file: Path | None = None
    jwt_issuer: str = "data-collector"
    jwt_audience: str = "data-collector-api"
    jwt_expiry_minutes: int | float = Field(30, gt=0, le=24 * 60)  # fractions: 0.1 = 6 s
    refresh_expiry_days: int = Field(7, ge=1, le=90)
    # A verified bearer token's principal is kept this long; a revocation made in another
    # process takes effect within it (docs/security.md). 0: verify on every request.
    principal_cache_seconds: float = Field(5, ge=0, le=60)

    # Request protection
    cors_origins: StrList = Field(default_factory=list)
    api_key_header: str = "X-API-Key"
    rate_limit_per_minute: int = Field(100, ge=1)
    auth_rate_limit_per_minute: int = Field(10, ge=1)
    token_rate_limit_per_minute: int = Field(1000, ge=1)
    api_keys_per_user: int = Field(20, ge=1)  # keys not revoked; one more answers 409
    trusted_proxies: StrList = Field(default_factory=list)
    max_body_bytes: int = Field(10 * 1024 * 1024, ge=1024)
    # GET /metrics without credentials from these addresses (IPs or CIDRs)
    metrics_allowlist: StrList = Field(default_factory=lambda: ["127.0.0.1", "::1"])

    # Backing parts; unset broker/Redis URLs select the in-process implementations
    database_url: str = "sqlite:///var/data-collector.sqlite3"
    rabbitmq_url: str | None = None
    redis_url: str | None = None
    # Dramatiq's broker (workers/broker.py); unset: rabbitmq with a RabbitMQ URL, else memory
    broker: Literal["rabbitmq", "redis", "memory"] | None = None
    # RabbitMQ's management HTTP API (http://user:pass@host:15672); unset: passive declares
    rabbitmq_management_url: str | None = None

    # Notifications (control/notifications, docs/notifications.md)
    telegram_api_base: str = "https://api.telegram.org"
    notification_retry_min_backoff_ms: int = Field(1000, ge=1, le=60_000)
    notification_requeue_after_minutes: int = Field(10, ge=1, le=24 * 60)
    notification_pipeline_error_rate: float = Field(0.25, gt=0, le=1)

    # Bulk jobs (control/bulk): the most apps one bulk request may match; a job of
    # 100,000 apps measured (bench/RESULTS.md, bulk_start): about 3 min POST → every
    # command confirmed on 2 busy cores, the server's and worker's memory flat
    bulk_max_apps: int = Field(100_000, ge=1, le=1_000_000)
    # a job still queued this long (its message lost) is sent again by the scheduler's sweep
    bulk_requeue_after_minutes: int = Field(5, ge=1, le=24 * 60)

    # Live events and WebSockets (web/ws, docs/websockets.md)
    events_channel: str = Field("dc:events", min_length=1, max_length=128)
    ws_max_connections_per_user: int = Field(10, ge=1)
    ws_max_connections_per_ip: int = Field(50, ge=1)
    ws_heartbeat_seconds: float = Field(20, gt=0, le=3600)
    ws_auth_timeout_seconds: float = Field(5, gt=0, le=60)
    ws_recheck_seconds: float = Field(30, gt=0, le=3600)
    ws_queue_size: int = Field(256, ge=8, le=100_000)
    # per socket: client messages (a token bucket) and backfilled log events per minute
    ws_messages_per_second: float = Field(5, gt=0, le=10_000)
    ws_message_burst: int = Field(20, ge=1, le=100_000)
    ws_backfill_per_minute: int = Field(2000, ge=0, le=1_000_000)

    # The reference agent (control/agent, docs/apps.md)
    agent_name: str = Field("", max_length=100)  # empty: the host name
    agent_groups: StrList = Field(default_factory=list)  # empty: every group
    agent_apps: StrList = Field(default_factory=list)  # name=module:callable pairs
    agent_concurrency: int = Field(4, ge=1, le=256)
    agent_stop_grace_seconds: float = Field(10, ge=0, le=3600)
    agent_fatal_after: int = Field(3, ge=1, le=1000)
    agent_embedded: bool = True
    agent_poll_seconds: float = Field(5, gt=0, le=3600)
    agent_heartbeat_seconds: float = Field(5, gt=0, le=3600)
    agent_stale_after_seconds: float = Field(60, gt=0, le=86_400)
    # an agent whose last heartbeat is older than this is offline (/api/v1/system/agents)
    agent_offline_after_seconds: float = Field(30, gt=0, le=86_400)

    # Retention (control/maintenance): rows older than this many days are deleted
    retention_logs_days: int = Field(30, ge=1, le=3650)
    retention_function_logs_days: int = Field(90, ge=1, le=3650)
    retention_metrics_days: int = Field(14, ge=1, le=3650)
    retention_deliveries_days: int = Field(90, ge=1, le=3650)

    # The scheduler (control/scheduler, ``dcctl scheduler``): seconds between firings
    schedule_metrics_seconds: int = Field(30, ge=1, le=86_400)
    schedule_retention_seconds: int = Field(3600, ge=1, le=7 * 86_400)
    schedule_stale_seconds: int = Field(60, ge=1, le=86_400)
    schedule_tokens_seconds: int = Field(3600, ge=1, le=7 * 86_400)
    schedule_notifications_requeue_seconds: int = Field(300, ge=1, le=86_400)
    schedule_bulk_requeue_seconds: int = Field(60, ge=1, le=86_400)
    schedule_health_seconds: int = Field(60, ge=1, le=86_400)
    schedule_rollup_seconds: int = Field(300, ge=1, le=86_400)  # each hourly rollup
    # PostgreSQL: the logs' and function logs' time partitions kept ahead of the clock
    schedule_partitions_seconds: int = Field(3600, ge=1, le=86_400)

    # App health (control/health, docs/health.md): each app judged against its own history
    health_baseline_runs: int = Field(20, ge=1, le=1000)  # completed runs in a baseline
    health_min_runs: int = Field(3, ge=1, le=1000)  # runs before slow/low_output judge
    health_slow_factor: float = Field(1.5, gt=0, le=1000)  # x duration p95
    health_low_output_factor: float = Field(0.5, ge=0, le=1)  # x records p50
    health_stalled_seconds: float = Field(15 * 60, gt=0, le=7 * 86_400)  # no progress
    health_missed_grace_seconds: float = Field(10 * 60, ge=0, le=7 * 86_400)  # past next_run

    # Processes
    # embedded mode: run the outbox relay, agent and Dramatiq worker inside the web process
    embedded_background: bool = True
    dashboard_enabled: bool = True
    dashboard_host: str = "127.0.0.1"
    dashboard_port: int = Field(8050, ge=1, le=65535)
    # The dashboard (dashboard/, docs/dashboard.md): the API it calls from the server side,
    # and the API base the browser opens the live-log WebSocket on (empty: the same URL)
    dashboard_api_url: str = "http://127.0.0.1:8000"
    dashboard_public_api_url: str = ""
    # signs the dashboard's session cookie; empty: derived from DC_JWT_SECRET
    dashboard_secret_key: SecretStr = SecretStr("")
    dashboard_refresh_seconds: float = Field(4, ge=1, le=60)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    # the per-request access lines (API and dashboard); WARNING hides them (make demo)
    access_log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    environment: Literal["production", "development", "test"] = "production"

    @field_validator(
        "cors_origins",
        "trusted_proxies",
        "metrics_allowlist",
        "agent_groups",
        "agent_apps",
        mode="before",
    )
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return _split_list(value)

    @field_validator("metrics_allowlist")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError:
                raise ValueError(f"not an IP address or CIDR: {entry!r}") from None
        return [entry.strip() for entry in value]

    @field_validator("agent_apps")
    @classmethod
    def _app_pairs(cls, value: list[str]) -> list[str]:
        for entry in value:
            name, _, target = entry.partition("=")
            module, _, attr = target.partition(":")
            if not (name.strip() and module.strip() and attr.strip()):
                raise ValueError(f"not a name=module:callable pair: {entry!r}")
        return value

    @field_validator("rabbitmq_url", "redis_url", "rabbitmq_management_url", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("telegram_api_base", "dashboard_api_url")
    @classmethod
    def _http_base(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s):// URL")
        return value.rstrip("/")

    @field_validator("dashboard_public_api_url")
    @classmethod
    def _optional_http_base(cls, value: str) -> str:
        value = value.strip()
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s):// URL (or empty)")
        return value.rstrip("/")

    @field_validator("cors_origins")
    @classmethod
    def _no_wildcard_origin(cls, value: list[str]) -> list[str]:
        if "*" in value:
            raise ValueError("'*' is not allowed; list the origins explicitly")
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        scheme = value.split("://", 1)[0].split("+", 1)[0]
        if scheme not in {"sqlite", "postgresql", "postgres", "mssql"}:
            raise ValueError("must start with sqlite://, postgresql:// or mssql://")
        return value

    @model_validator(mode="after")
    def _signing_material(self) -> Settings:
        if self.jwt_algorithm == "HS256":
            if len(self.jwt_secret.get_secret_value().encode()) < 32:
                raise ValueError("DC_JWT_SECRET must be at least 32 bytes for HS256")
        elif not (self.jwt_private_key_file and self.jwt_public_key_file):
            raise ValueError("RS256 needs DC_JWT_PRIVATE_KEY_FILE and DC_JWT_PUBLIC_KEY_FILE")
        return self

    @model_validator(mode="after")
    def _broker_choice(self) -> Settings:
        if self.broker is None:
            self.broker = "rabbitmq" if self.rabbitmq_url else "memory"
        elif self.broker == "rabbitmq" and not self.rabbitmq_url:
            raise ValueError("DC_BROKER=rabbitmq needs DC_RABBITMQ_URL")
        elif self.broker == "redis" and not self.redis_url:
            raise ValueError("DC_BROKER=redis needs DC_REDIS_URL")
        return self

    @property
    def embedded(self) -> bool:
        """True when no broker is configured: everything runs in one process."""
        return self.rabbitmq_url is None


def _env_file() -> str | None:
    path = os.environ.get(f"{ENV_PREFIX}ENV_FILE")
    if path:
        if not Path(path).is_file():
            raise ConfigurationError(f"{ENV_PREFIX}ENV_FILE: no such file: {path}")
        return path
    return ".env" if Path(".env").is_file() else None


def load_settings(**overrides: Any) -> Settings:
    """Build settings from the environment (and env file), failing with one line."""
    try:
        return Settings(_env_file=_env_file(), **overrides)
    except ValidationError as exc:
        error = exc.errors()[0]
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "missing":
            message = "required setting is missing"
        if error["loc"]:  # a field error; model-level messages already name the variables
            name = ".".join(str(part) for part in error["loc"])
            message = f"{ENV_PREFIX}{name.upper()}: {message}"
        raise ConfigurationError(message) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, loaded once."""
    return load_settings()
