"""The configuration view (secrets redacted) and the settings that change at run time.

**Redaction.** :func:`redact_settings` shows every setting of a :class:`Settings` without
its secrets, driven by types and by parsing, not by a list of names:

* a ``SecretStr``/``SecretBytes`` field (``jwt_secret``) is ``"********"`` whatever its
  name; so is a registered run-time setting marked secret;
* every string is parsed: a URL's user information becomes ``***:***``
  (``postgresql://***:***@db:5432/dc``), and any ``key=value`` item whose key names a
  password, secret, token, key or signature (a URL query, an ODBC or libpq connection
  string) keeps its key and loses its value;
* a string field whose *name* says it is secret (``*_password``, ``*_token``...) is
  masked as a whole, in case a later setting is declared as plain ``str``;
* last, a net: every password and secret value known from the settings is looked for in
  the whole answer, and a value that still contains one is masked whole.

Paths (``jwt_private_key_file``) are shown; the files' contents never are.

**Run-time settings.** ``REGISTRY`` lists the settings an admin may change without a
restart (``POST /api/v1/system/config``), each with its pydantic type and whether the
running process applies it at once (``live``) or at its next start. Stored overrides
live in ``runtime_setting`` and win over the environment. Add one with :func:`register`::

    register(SettingSpec("ws_queue_size", Annotated[StrictInt, Field(ge=8)], "...", live=False))

(the name must be a field of :class:`Settings`; an ``apply`` callback runs when a
``live`` value changes, for effects outside the settings object, like the log level).

**Applying.** Each web process holds a :class:`RuntimeConfig` over its ``Services``:
``services.settings`` is always the environment's settings overlaid with the stored
overrides this process has applied, and code that reads ``services.settings`` per
request (the rate-limit middleware) follows changes at once. The process that takes the
POST applies it before answering; every other process (the other gunicorn workers)
re-reads the table every ``REFRESH_SECONDS`` (30 s) from its lifespan, so a change
reaches the whole fleet within that. Non-live settings (CORS origins, the body limit,
the dashboard switch) are read when a process starts: they apply at the next restart,
and the configuration view says so (``applies: "restart"``, ``pending_restart``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol
from urllib.parse import urlsplit

from peewee import CharField, DateTimeField, PeeweeException
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    SecretBytes,
    SecretStr,
    StrictBool,
    StrictInt,
    TypeAdapter,
    ValidationError,
)

from control.audit.models import AuditLog
from control.audit.services import is_secret_name, redact
from control.db.database import database, write_transaction
from control.db.fields import JSONField
from control.db.models import BaseModel, utcnow
from control.errors import InvalidInput
from control.log_context import configure_logging, request_id_var
from control.settings import Settings

log = logging.getLogger(__name__)

MASK = "********"
URL_USERINFO = "***:***"
PARAM_MASK = "***"
REFRESH_SECONDS = 30.0
AUDIT_ACTION = "system.config.update"

# -- redaction ----------------------------------------------------------------------------

_URL = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<rest>.*)$", re.DOTALL)
# key=value items of URL queries and connection strings; a braced ODBC value may hold ;
_PARAM = re.compile(
    r"(?P<key>[A-Za-z][\w.\-]*)(?P<eq>\s*=\s*)(?P<value>\{(?:[^}]|\}\})*\}|[^;&\s]*)"
)
_SECRET_PARAM_WORDS = ("pass", "pwd", "secret", "token", "key", "sig", "auth", "credential")
_NET_MIN_LENGTH = 4  # shorter "secrets" would match everywhere


def _secret_param(key: str) -> bool:
    lowered = key.lower()
    return any(word in lowered for word in _SECRET_PARAM_WORDS)


def _redact_params(text: str) -> str:
    def mask(match: re.Match[str]) -> str:
        if not _secret_param(match.group("key")) or not match.group("value"):
            return match.group(0)
        return f"{match.group('key')}{match.group('eq')}{PARAM_MASK}"

    return _PARAM.sub(mask, text) if "=" in text else text


def redact_text(text: str) -> str:
    """``text`` without URL credentials or secret ``key=value`` items.

    The user information of a URL is everything between ``://`` and the *last* ``@``
    (an unencoded ``@`` or ``/`` in a password must not leak a part of it); it becomes
    ``***:***`` whether it held a user, a password or both.
    """
    match = _URL.match(text)
    if match:
        rest = match.group("rest")
        at = rest.rfind("@")
        if at >= 0:
            rest = f"{URL_USERINFO}@{rest[at + 1 :]}"
        text = match.group("scheme") + rest
    return _redact_params(text)


def _secret_type(annotation: Any) -> bool:
    """Whether a field's annotation is (or contains) a secret type."""
    if annotation in (SecretStr, SecretBytes):
        return True
    args = getattr(annotation, "__args__", ()) or ()
    metadata = getattr(annotation, "__metadata__", ()) or ()
    origin = getattr(annotation, "__origin__", None)
    return any(
        _secret_type(a) for a in (*args, *metadata, origin) if a is not None and a is not annotation
    )


def redact_value(name: str, value: Any, *, secret: bool = False) -> Any:
    """One setting's value as it may be shown."""
    if value is None:
        return None
    if secret or isinstance(value, SecretStr | SecretBytes):
        return MASK
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, bytes):
        return MASK
    if isinstance(value, str):
        return MASK if is_secret_name(name) else redact_text(value)
    if isinstance(value, Mapping):
        return {str(k): redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_value(name, v) for v in value]
    if isinstance(value, bool | int | float):
        return value
    return redact_text(str(value))


def _known_secrets(settings: Settings) -> set[str]:
    """Plain-text secrets found in ``settings``: secret fields, URL and item passwords."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, SecretStr):
            found.add(value.get_secret_value())
        elif isinstance(value, SecretBytes):
            found.add(value.get_secret_value().decode(errors="replace"))
        elif isinstance(value, str):
            match = _URL.match(value)
            if match and "@" in match.group("rest"):
                userinfo = match.group("rest").rpartition("@")[0]
                found.add(userinfo.partition(":")[2])
                with contextlib.suppress(ValueError):
                    found.add(urlsplit(value).password or "")
            for item in _PARAM.finditer(value):
                if _secret_param(item.group("key")):
                    found.add(item.group("value").strip("{}"))
        elif isinstance(value, list | tuple | set | frozenset):
            for v in value:
                walk(v)
        elif isinstance(value, Mapping):
            for v in value.values():
                walk(v)

    for name in type(settings).model_fields:
        walk(getattr(settings, name))
    return {s for s in found if len(s) >= _NET_MIN_LENGTH}


def _net(value: Any, secrets: set[str]) -> Any:
    if isinstance(value, str):
        return MASK if any(s in value for s in secrets) else value
    if isinstance(value, list):
        return [_net(v, secrets) for v in value]
    if isinstance(value, dict):
        return {k: _net(v, secrets) for k, v in value.items()}
    return value


def redact_settings(settings: Settings) -> dict[str, Any]:
    """Every setting by name, redacted (see the module's docstring for the rules)."""
    shown: dict[str, Any] = {}
    for name, info in type(settings).model_fields.items():
        spec = REGISTRY.get(name)
        secret = _secret_type(info.annotation) or bool(spec and spec.secret)
        shown[name] = redact_value(name, getattr(settings, name), secret=secret)
    return _net(shown, _known_secrets(settings))


# -- the registry of run-time settings ----------------------------------------------------


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
        return self.secret or _secret_type(self.type)


REGISTRY: dict[str, SettingSpec] = {}


def register(spec: SettingSpec) -> SettingSpec:
    """Allow ``spec.name`` to change at run time (it must be a field of Settings)."""
    if spec.name not in Settings.model_fields:
        raise ValueError(f"{spec.name!r} is not a setting")
    REGISTRY[spec.name] = spec
    return spec


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


RateLimit = Annotated[StrictInt, Field(ge=1, le=10_000_000)]
Origin = Annotated[str, Field(max_length=255), AfterValidator(_origin)]
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
        Annotated[StrictInt, Field(ge=1024, le=1024**3)],
        "request body limit in bytes",
        False,
    ),
    SettingSpec("dashboard_enabled", StrictBool, "run the dashboard", False),
):
    register(_spec)


# -- stored overrides ---------------------------------------------------------------------


class RuntimeSetting(BaseModel):
    """A stored run-time override of one setting (``value`` is its JSON)."""

    key = CharField(max_length=64, primary_key=True)
    value = JSONField()
    updated = DateTimeField(default=utcnow)
    updated_by = CharField(max_length=254)

    class Meta:
        table_name = "runtime_setting"


class InvalidChanges(InvalidInput):
    """Changes refused: unknown or fixed settings (400) or bad values (422), per field."""

    def __init__(self, message: str, problems: list[tuple[str, str]], *, status: int) -> None:
        super().__init__(message, field=problems[0][0] if problems else None)
        self.problems = problems
        self.status = status


def validate_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """The changes as validated JSON values (``None`` = back to the environment's value).

    Raises :class:`InvalidChanges`: 400 for a name that is not a run-time setting, 422
    for a value its type refuses; each problem names ``changes.<setting>``.
    """
    if not changes:
        raise InvalidChanges("No changes given.", [("changes", "empty")], status=422)
    unknown: list[tuple[str, str]] = []
    invalid: list[tuple[str, str]] = []
    clean: dict[str, Any] = {}
    for name, value in changes.items():
        spec = REGISTRY.get(name)
        if spec is None:
            why = (
                "cannot be changed at run time; set it in the environment and restart"
                if name in Settings.model_fields
                else "not a setting"
            )
            unknown.append((f"changes.{name}", why))
            continue
        if value is None:
            clean[name] = None
            continue
        try:
            parsed = spec.adapter.validate_python(value)
        except ValidationError as exc:
            message = exc.errors(include_url=False)[0]["msg"].removeprefix("Value error, ")
            invalid.append((f"changes.{name}", message))
            continue
        clean[name] = spec.adapter.dump_python(parsed, mode="json")
    if unknown:
        raise InvalidChanges(
            "Only these settings can change at run time: " + ", ".join(sorted(REGISTRY)) + ".",
            unknown + invalid,
            status=400,
        )
    if invalid:
        raise InvalidChanges("Invalid setting values.", invalid, status=422)
    return clean


def stored_overrides() -> dict[str, RuntimeSetting]:
    """The stored overrides that still validate, by name (others are logged and skipped)."""
    found: dict[str, RuntimeSetting] = {}
    for row in RuntimeSetting.select():
        spec = REGISTRY.get(row.key)
        if spec is None:
            log.warning("ignoring stored run-time setting %r: not a run-time setting", row.key)
            continue
        try:
            row.value = spec.adapter.dump_python(
                spec.adapter.validate_python(row.value), mode="json"
            )
        except ValidationError:
            log.warning("ignoring stored run-time setting %r: invalid value", row.key)
            continue
        found[row.key] = row
    return found


def overlay(base: Settings, overrides: Mapping[str, Any]) -> Settings:
    """``base`` with the (validated) ``overrides``; the types are the Settings fields'."""
    values = {name: value for name, value in overrides.items() if name in REGISTRY}
    if not values:
        return base
    # the JSON forms go back through the field types (a list stays a list, etc.)
    typed = {
        name: TypeAdapter(Settings.model_fields[name].annotation).validate_python(value)
        for name, value in values.items()
    }
    return base.model_copy(update=typed)


def _shown(name: str, value: Any) -> Any:
    spec = REGISTRY.get(name)
    return redact_value(name, value, secret=bool(spec and spec.is_secret))


def effective_config(
    settings: Settings,
    *,
    running: Settings | None = None,
    stored: Mapping[str, RuntimeSetting] | None = None,
) -> dict[str, Any]:
    """Every setting: its effective value (redacted), where it comes from, and whether and
    how it can change at run time.

    ``settings`` are the environment's (defaults, ``DC_*`` variables, env file);
    ``stored`` the overrides (read from the table when None); ``running`` what this
    process runs with, to flag a stored non-live change that waits for a restart.
    """
    if stored is None:
        stored = stored_overrides()
    effective = overlay(settings, {name: row.value for name, row in stored.items()})
    values = redact_settings(effective)
    explicit = settings.model_fields_set
    entries: dict[str, Any] = {}
    for name in type(settings).model_fields:
        entry: dict[str, Any] = {
            "value": values[name],
            "source": "runtime"
            if name in stored
            else ("environment" if name in explicit else "default"),
            "changeable": name in REGISTRY,
        }
        spec = REGISTRY.get(name)
        if spec is not None:
            entry["applies"] = "live" if spec.live else "restart"
            entry["description"] = spec.description
            if running is not None:
                entry["pending_restart"] = not spec.live and getattr(running, name) != getattr(
                    effective, name
                )
        if name in stored:
            entry["updated"] = stored[name].updated
            entry["updated_by"] = stored[name].updated_by
        entries[name] = entry
    return {"settings": entries}


def update(
    settings: Settings,
    changes: Mapping[str, Any],
    *,
    actor: str,
    audit: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Validate and store ``changes`` over the environment's ``settings``, with an audit
    row in the same transaction; the stored overrides afterwards, by name.

    ``None`` for a setting removes its override. The audit row's summary lists each
    change as ``{"setting", "from", "to"}`` (secret values masked); ``audit`` adds or
    overrides row columns (the API passes the request's ip, method, endpoint, status).
    """
    clean = validate_changes(changes)
    with write_transaction():
        before = stored_overrides()
        now = utcnow()
        listed = []
        for name, value in clean.items():
            previous = (
                before[name].value
                if name in before
                else TypeAdapter(Any).dump_python(getattr(settings, name), mode="json")
            )
            if value is None:
                RuntimeSetting.delete().where(RuntimeSetting.key == name).execute()
                current = TypeAdapter(Any).dump_python(getattr(settings, name), mode="json")
            else:
                values = {
                    RuntimeSetting.value: value,
                    RuntimeSetting.updated: now,
                    RuntimeSetting.updated_by: actor[:254],
                }
                if not RuntimeSetting.update(values).where(RuntimeSetting.key == name).execute():
                    RuntimeSetting.create(key=name, value=value, updated=now, updated_by=actor)
                current = value
            listed.append(
                {"setting": name, "from": _shown(name, previous), "to": _shown(name, current)}
            )
        _audit(actor, listed, audit or {})
        return {name: row.value for name, row in stored_overrides().items()}


def _audit(actor: str, listed: list[dict[str, Any]], audit: Mapping[str, Any]) -> None:
    """The audit row, on the update's connection: no row, no change."""
    fields: dict[str, Any] = {
        "action": AUDIT_ACTION,
        "outcome": "success",
        "actor": actor[:254],
        "actor_type": "user",
        **audit,
    }
    fields["summary"] = redact({"changes": listed})
    request_id = request_id_var.get()
    fields.setdefault("request_id", request_id if request_id != "-" else None)
    AuditLog.create(**fields)


# -- the process's view -------------------------------------------------------------------


class SettingsHolder(Protocol):
    settings: Settings


@dataclass(eq=False)
class RuntimeConfig:
    """Keeps ``holder.settings`` = the environment's settings + the applied overrides.

    Also a Falcon lifespan component: between startup and shutdown it re-reads the
    stored overrides every ``refresh_seconds``, so changes made through another process
    reach this one.
    """

    holder: SettingsHolder = field(repr=False)
    refresh_seconds: float = REFRESH_SECONDS
    base: Settings = field(init=False)
    applied: dict[str, Any] = field(init=False, default_factory=dict)
    _task: asyncio.Task[None] | None = field(init=False, default=None, repr=False)

    def __post_init__(self) -> None:
        self.base = self.holder.settings

    def apply(self, overrides: Mapping[str, Any], *, startup: bool = False) -> list[str]:
        """Run with ``overrides`` (validated JSON values): every one at startup, else the
        live ones (a non-live change waits for the restart). The names that changed."""
        current = self.holder.settings
        wanted = {
            name: value
            for name, value in overrides.items()
            if name in REGISTRY and (startup or REGISTRY[name].live)
        }
        if not startup:  # keep what this process started with for the non-live ones
            wanted |= {
                name: self.applied[name]
                for name in self.applied
                if name in REGISTRY and not REGISTRY[name].live
            }
        new = overlay(self.base, wanted)
        changed = [name for name in REGISTRY if getattr(new, name) != getattr(current, name)]
        self.holder.settings = new
        self.applied = wanted
        for name in changed:
            spec = REGISTRY[name]
            if spec.apply is not None and (spec.live or startup):
                spec.apply(getattr(new, name))
        if changed:
            log.info("run-time settings applied: %s", ", ".join(changed))
        return changed

    def load(self, *, startup: bool = False) -> bool:
        """Read the stored overrides and apply them (blocking); False when the table
        cannot be read (no database bound yet, not migrated): nothing changes then."""
        if database.obj is None:
            return False
        try:
            with database.connection_context():
                stored = stored_overrides()
        except PeeweeException as exc:
            log.warning("run-time settings not read: %s", type(exc).__name__)
            return False
        self.apply({name: row.value for name, row in stored.items()}, startup=startup)
        return True

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_seconds)
            try:
                await asyncio.to_thread(self.load)
            except Exception:  # a refresh must never end the loop
                log.exception("run-time settings refresh failed")

    async def process_startup(self, scope: dict[str, Any], event: dict[str, Any]) -> None:
        if self._task is None and self.refresh_seconds > 0:
            self._task = asyncio.create_task(self._refresh_forever(), name="dc-runtime-config")

    async def process_shutdown(self, scope: dict[str, Any], event: dict[str, Any]) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
