"""The settings an admin may change without a restart (``POST /api/v1/system/config``).

Each has its pydantic type and says whether the running process applies it at once
(``live``) or at its next start. Add one with :func:`register`::

    register(SettingSpec("ws_queue_size", json_int(ge=8), "...", live=False))

(the name must be a field of :class:`Settings`; an ``apply`` callback runs when a
``live`` value changes, for effects outside the settings object, like the log level).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, Field, StrictBool, TypeAdapter

from control.json_types import json_int
from control.log_context import configure_logging
from control.settings import Settings
from control.system.redaction import redact_value, secret_type

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SettingSpec:
    """A setting that may change at run time: its type, and how it takes effect."""

    name: str
    type: Any  # a pydantic type (Annotated with constraints and validators)
    description: str
    live: bool  # applied by the running process at once; else at its next start
    apply: Callable[[Any], None] | None = None  # side effect when a live value changes
    secret: bool = False  # never shown; audited as masked

    @cached_property
    def adapter(self) -> TypeAdapter[Any]:
        return TypeAdapter(self.type)

    @property
    def is_secret(self) -> bool:
        return self.secret or secret_type(self.type)


REGISTRY: dict[str, SettingSpec] = {}


def register(spec: SettingSpec) -> SettingSpec:
    """Allow ``spec.name`` to change at run time (it must be a field of Settings)."""
    if spec.name not in Settings.model_fields:
        raise ValueError(f"{spec.name!r} is not a setting")
    REGISTRY[spec.name] = spec
    return spec


def secret_names() -> frozenset[str]:
    """The registered settings declared secret (masked whatever their type)."""
    return frozenset(name for name, spec in REGISTRY.items() if spec.secret)


def shown(name: str, value: Any) -> Any:
    """A run-time setting's value as the view and the audit row show it."""
    spec = REGISTRY.get(name)
    return redact_value(name, value, secret=bool(spec and spec.is_secret))


def _origin(value: str) -> str:
    text = value.strip().rstrip("/")
    if "*" in text:
        raise ValueError("'*' is not allowed; list the origins explicitly")
    parts = urlsplit(text)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.username is not None
        or parts.path
        or parts.query
        or parts.fragment
    ):
        raise ValueError("an origin is scheme://host[:port], e.g. https://ops.example.com")
    return text


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


def _apply_log_level(level: str) -> None:
    configure_logging(level)
    log.info("log level set to %s", level)


RateLimit = json_int(ge=1, le=10_000_000)
# the pattern is for the document only (the validator is the rule, and strips blanks)
ORIGIN_SHAPE = r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?/?$"  # IPv6 literals are not shown
Origin = Annotated[
    str,
    Field(max_length=255, json_schema_extra={"pattern": ORIGIN_SHAPE}),
    AfterValidator(_origin),
]
LogLevelName = Annotated[
    Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], BeforeValidator(_upper)
]

for _spec in (
    SettingSpec(
        "rate_limit_per_minute", RateLimit, "per-IP limit for unauthenticated requests", True
    ),
    SettingSpec("auth_rate_limit_per_minute", RateLimit, "per-IP limit on /api/v1/auth/*", True),
    SettingSpec("token_rate_limit_per_minute", RateLimit, "per-token / per-key limit", True),
    SettingSpec(
        "log_level", LogLevelName, "level of the process's logging", True, _apply_log_level
    ),
    SettingSpec(
        "cors_origins",
        Annotated[list[Origin], Field(max_length=50)],
        "allowed browser origins (explicit; '*' is refused)",
        False,
    ),
    SettingSpec(
        "max_body_bytes",
        json_int(ge=1024, le=1024**3),
        "request body limit in bytes",
        False,
    ),
    SettingSpec("dashboard_enabled", StrictBool, "run the dashboard", False),
):
    register(_spec)
