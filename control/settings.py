"""One typed settings object for every process, read from ``DC_*`` variables.

A setting ``foo_bar`` reads ``DC_FOO_BAR``. An optional env file (``DC_ENV_FILE``, or
``.env`` in the working directory when present) supplies values the environment does
not. A missing or invalid value fails at start with one line naming the variable.
"""

from __future__ import annotations

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
    public_url: str = ""

    # Tokens
    jwt_secret: SecretStr
    jwt_algorithm: Literal["HS256", "RS256"] = "HS256"
    jwt_private_key_file: Path | None = None
    jwt_public_key_file: Path | None = None
    jwt_issuer: str = "data-collector"
    jwt_audience: str = "data-collector-api"
    jwt_expiry_minutes: int = Field(30, ge=1, le=24 * 60)
    refresh_expiry_days: int = Field(7, ge=1, le=90)

    # Request protection
    cors_origins: StrList = Field(default_factory=list)
    api_key_header: str = "X-API-Key"
    rate_limit_per_minute: int = Field(100, ge=1)
    auth_rate_limit_per_minute: int = Field(10, ge=1)
    token_rate_limit_per_minute: int = Field(1000, ge=1)
    trusted_proxies: StrList = Field(default_factory=list)
    max_body_bytes: int = Field(10 * 1024 * 1024, ge=1024)

    # Backing parts; unset broker/Redis URLs select the in-process implementations
    database_url: str = "sqlite:///var/data-collector.sqlite3"
    rabbitmq_url: str | None = None
    redis_url: str | None = None

    # Processes
    dashboard_enabled: bool = True
    dashboard_port: int = Field(8050, ge=1, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    environment: Literal["production", "development", "test"] = "production"

    @field_validator("cors_origins", "trusted_proxies", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> Any:
        return _split_list(value)

    @field_validator("rabbitmq_url", "redis_url", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

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
        return Settings(_env_file=_env_file(), **overrides)  # type: ignore[call-arg]
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
