"""The admin pages' callbacks (notifications, activity, dead jobs), registered together."""

from __future__ import annotations

import dash

from dashboard.callbacks import admin_activity, admin_dead_jobs, admin_notifications


def register(app: dash.Dash) -> None:
    admin_notifications.register(app)
    admin_activity.register(app)
    admin_dead_jobs.register(app)
