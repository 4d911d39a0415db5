"""The settings that change at run time: validating, storing and applying them.

Stored overrides live in ``runtime_setting`` (control/system/models.py) and win over the
environment; the settings that may change are in control/system/settings_registry.py.

**Applying.** Each web process holds a :class:`RuntimeConfig` over its ``Services``:
``services.settings`` is always the environment's settings overlaid with the stored
overrides this process has applied, and code that reads ``services.settings`` per
request (the rate-limit middleware) follows changes at once. The process that takes the
POST applies it before answering; every other process (the other gunicorn workers)
re-reads the table every ``REFRESH_SECONDS`` (30 s) from its lifespan
(web/lifecycle.py), so a change reaches the whole fleet within that. Non-live settings
(CORS origins, the body limit, the dashboard switch) are read when a process starts:
they apply at the next restart, and the configuration view says so (``applies:
"restart"``, ``pending_restart``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from peewee import PeeweeException
from pydantic import TypeAdapter, ValidationError

from control.audit import services as audit
from control.audit.context import AuditContext
from control.clock import utcnow
from control.db.database import database, write_transaction
from control.errors import InvalidInput, InvalidValue
from control.settings import Settings
from control.system.models import RuntimeSetting
from control.system.redaction import redact_settings
from control.system.settings_registry import REGISTRY, secret_names, shown

log = logging.getLogger(__name__)

REFRESH_SECONDS = 30.0
AUDIT_ACTION = "system.config.update"


def validate_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """The changes as validated JSON values (``None`` = back to the environment's value).

    Raises :class:`InvalidInput` for a name that is not a run-time setting (with any bad
    values too), :class:`InvalidValue` for values their types refuse; each problem
    names ``changes.<setting>``.
    """
    if not changes:
        raise InvalidValue("No changes given.", details=[("changes", "empty")])
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
        raise InvalidInput(
            "Only these settings can change at run time: " + ", ".join(sorted(REGISTRY)) + ".",
            details=unknown + invalid,
        )
    if invalid:
        raise InvalidValue("Invalid setting values.", details=invalid)
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
        name: TypeAdapter(Settings.model_fields[name].annotation or Any).validate_python(value)
        for name, value in values.items()
    }
    return base.model_copy(update=typed)


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
    values = redact_settings(effective, secret_names())
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


def update(settings: Settings, changes: Mapping[str, Any], context: AuditContext) -> dict[str, Any]:
    """Validate and store ``changes`` over the environment's ``settings``, with an audit
    row in the same transaction; the stored overrides afterwards, by name.

    ``None`` for a setting removes its override. The audit row (``context``'s actor,
    address and request) lists each change as ``{"setting", "from", "to"}`` (secret
    values masked).
    """
    clean = validate_changes(changes)
    actor = context.actor.subject
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
                {"setting": name, "from": shown(name, previous), "to": shown(name, current)}
            )
        # on the update's connection: no row, no change
        audit.write(context, AUDIT_ACTION, details={"changes": listed}, with_request=False)
        return {name: row.value for name, row in stored_overrides().items()}


# -- the process's view -------------------------------------------------------------------


class SettingsHolder(Protocol):
    settings: Settings


@dataclass(eq=False)
class RuntimeConfig:
    """Keeps ``holder.settings`` = the environment's settings + the applied overrides."""

    holder: SettingsHolder = field(repr=False)
    base: Settings = field(init=False)
    applied: dict[str, Any] = field(init=False, default_factory=dict)

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
