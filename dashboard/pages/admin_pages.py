"""The admin pages by route, shown to admins only (others get a short refusal)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dashboard.pages import admin_activity, admin_dead_jobs, admin_notifications
from dashboard.pages.admin_nav import admin_only
from dashboard.sessions import is_admin

ADMIN_LAYOUTS: dict[str, Callable[[], Any]] = {
    "admin/notifications": admin_notifications.layout,
    "admin/activity": admin_activity.layout,
    "admin/dead-jobs": admin_dead_jobs.layout,
}


def admin_page(page: str) -> Any | None:
    """The page's layout (or the refusal), or None when ``page`` is no admin page."""
    layout = ADMIN_LAYOUTS.get(page)
    if layout is None:
        return None
    return layout() if is_admin() else admin_only()
