"""Configuration writes: an app's settings, schedule, time zone, enabled state and next
run, guarded by its version (the API's ETag) and locked on the app's row."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from control.apps.models import Apps
from control.apps.schedule import next_fire, validate_schedule, validate_timezone
from control.apps.services import get_app, locked_app
from control.clock import naive_utc, utcnow
from control.db.database import connected, write_transaction
from control.errors import InvalidInput, PreconditionFailed

CONFIG_FIELDS = frozenset({"settings", "schedule", "timezone", "disabled", "next_run"})


def update_app(
    app_id: str,
    changes: Mapping[str, Any],
    expected_version: int | None,
    *,
    reveal_secrets: bool = False,
) -> dict[str, Any]:
    """Write configuration fields if the app is still at ``expected_version``; the new detail.

    ``next_run`` is recomputed from the schedule when the schedule or time zone changes,
    unless the change sets it too. Every write bumps ``version``. ``expected_version``
    None skips the check (``If-Match: *``). The answer's settings are redacted as
    ``get_app``'s unless ``reveal_secrets``.
    """
    unknown = sorted(set(changes) - CONFIG_FIELDS)
    if unknown:
        raise InvalidInput(f"Not a configuration field: {', '.join(unknown)}.", field=unknown[0])
    if not changes:
        raise InvalidInput("Nothing to update.")
    with connected():
        with write_transaction():
            app = locked_app(app_id)
            if expected_version is not None and app.version != expected_version:
                raise PreconditionFailed(
                    f"App {app_id!r} has changed since version {expected_version} "
                    f"(now {app.version}); read it again and reapply the change."
                )
            now = utcnow()
            values: dict[Any, Any] = {Apps.version: app.version + 1, Apps.updated: now}
            if "settings" in changes:
                if not isinstance(changes["settings"], dict):
                    raise InvalidInput("Settings must be a JSON object.", field="settings")
                values[Apps.settings] = changes["settings"]
            if "disabled" in changes:
                values[Apps.disabled] = bool(changes["disabled"])
            schedule, timezone = app.schedule, app.timezone
            if "schedule" in changes:
                raw = changes["schedule"]
                schedule = validate_schedule(raw) if raw is not None else None
                values[Apps.schedule] = schedule
            if "timezone" in changes:
                timezone = validate_timezone(changes["timezone"])
                values[Apps.timezone] = timezone
            if "next_run" in changes:
                values[Apps.next_run] = naive_utc(changes["next_run"])
            elif (schedule, timezone) != (app.schedule, app.timezone):
                values[Apps.next_run] = next_fire(schedule, timezone, now) if schedule else None
            Apps.update(values).where(Apps.id == app.id).execute()
        return get_app(app_id, reveal_secrets=reveal_secrets)
