"""Each channel type's settings, validated; which of them are secrets.

Telegram ``{"bot_token", "chat_id"}``; email ``{"host", "port", "username", "password",
"from", "to": [...], "security": "starttls" | "ssl" | "none"}``; webhook ``{"url",
"secret"}``. Secrets are write-only: they are sealed apart from the rest and a channel
shows ``<name>_set: true|false`` in their place.
"""

from __future__ import annotations

import re
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from control.notifications.interfaces import InvalidChannel
from control.notifications.models import ChannelType

# No \s: Python's and the schema validators' engines disagree on which characters it holds;
# explicit ranges mean the same to every engine (the document's pattern is this one)
EMAIL = re.compile(r"^[^@\x00-\x20\x7f<>,;\"']{1,64}@[A-Za-z0-9.-]{1,253}$")
# an absolute http(s) URL with a host and no whitespace, for the document (http_url rules)
URL_SHAPE = r"^https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:[/?#]\S*)?$"
HOST = re.compile(r"^[A-Za-z0-9.-]{1,253}$|^\[[0-9A-Fa-f:.]+\]$")


def http_url(value: str) -> str:
    """``value`` if it is an absolute http(s) URL with a host, else ValueError."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host")
    if any(ch.isspace() for ch in value):
        raise ValueError("must not contain whitespace")
    return value


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class TelegramConfig(_Config):
    bot_token: str = Field(pattern=r"^[0-9]{1,20}:[A-Za-z0-9_-]{10,200}$")
    chat_id: str = Field(pattern=r"^(-?[0-9]{1,20}|@[A-Za-z0-9_]{5,64})$")

    @field_validator("chat_id", mode="before")
    @classmethod
    def _number_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class EmailConfig(_Config):
    host: str = Field(pattern=HOST.pattern)
    port: int = Field(587, ge=1, le=65535)
    username: str | None = Field(None, min_length=1, max_length=254)
    password: str | None = Field(None, min_length=1, max_length=1024)
    sender: str = Field(alias="from", pattern=EMAIL.pattern)
    # the item pattern is for the document; _addresses is the rule (and its message)
    to: list[str] = Field(
        min_length=1,
        max_length=50,
        json_schema_extra={"items": {"type": "string", "pattern": EMAIL.pattern}},
    )
    security: Literal["starttls", "ssl", "none"] = "starttls"

    @field_validator("to")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        bad = [address for address in value if not EMAIL.fullmatch(address)]
        if bad:
            raise ValueError("each recipient must be one e-mail address")
        return value


class WebhookConfig(_Config):
    url: str = Field(max_length=2000, json_schema_extra={"pattern": URL_SHAPE})
    secret: str = Field(min_length=16, max_length=512)

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        return http_url(value)


MODELS: dict[ChannelType, type[_Config]] = {
    ChannelType.TELEGRAM: TelegramConfig,
    ChannelType.EMAIL: EmailConfig,
    ChannelType.WEBHOOK: WebhookConfig,
}
SECRET_FIELDS: dict[ChannelType, tuple[str, ...]] = {
    ChannelType.TELEGRAM: ("bot_token",),
    ChannelType.EMAIL: ("password",),
    ChannelType.WEBHOOK: ("secret",),
}


def validate(kind: ChannelType, config: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """``config`` checked for ``kind``, split into (public settings, secrets).

    Raises :class:`InvalidChannel` naming each bad field as ``config.<name>``.
    """
    try:
        model = MODELS[kind].model_validate(config)
    except ValidationError as exc:
        details = [
            (
                "config." + ".".join(str(p) for p in err["loc"]) if err["loc"] else "config",
                err["msg"].removeprefix("Value error, "),
            )
            for err in exc.errors(include_url=False)
        ]
        raise InvalidChannel(details) from None
    values = model.model_dump(by_alias=True, exclude_none=True)
    secret_names = SECRET_FIELDS[kind]
    secrets = {k: v for k, v in values.items() if k in secret_names}
    public = {k: v for k, v in values.items() if k not in secret_names}
    return public, secrets


def shown(
    kind: ChannelType, public: dict[str, Any], secrets: dict[str, str] | set[str]
) -> dict[str, Any]:
    """The config as the API shows it: public settings plus ``<secret>_set`` flags."""
    return {**public, **{f"{name}_set": name in secrets for name in SECRET_FIELDS[kind]}}
