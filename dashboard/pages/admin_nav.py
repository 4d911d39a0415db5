"""The sidebar's admin entries (admins only) and the theme toggle of the page header."""

from __future__ import annotations

from typing import Any

from dash import dcc, html

from dashboard import paths
from dashboard.sessions import is_admin

ADMIN_LINKS = (
    ("Notifications", paths.ADMIN_NOTIFICATIONS, "nav-admin-notifications"),
    ("Activity", paths.ADMIN_ACTIVITY, "nav-admin-activity"),
    ("Dead jobs", paths.ADMIN_DEAD_JOBS, "nav-admin-dead-jobs"),
)


def admin_nav() -> list[Any]:
    """The Admin section, or nothing: other roles do not see it (the API refuses them
    these endpoints anyway)."""
    if not is_admin():
        return []
    links = [
        dcc.Link(label, href=href, id=link_id, className="nav-link")
        for label, href, link_id in ADMIN_LINKS
    ]
    return [html.H3("Admin", id="nav-admin"), html.Div(links, className="nav-group")]


def admin_only() -> html.Div:
    """What a non-admin sees at an admin page's address."""
    return html.Div(
        [
            html.H2("Admins only", id="page-title"),
            html.P("This page is for administrators.", className="muted"),
        ]
    )


_ARIA_PRESSED: dict[str, Any] = {"aria-pressed": "false"}  # hyphenated: not a keyword


def theme_toggle() -> html.Button:
    """Light/dark switch; ``assets/theme.js`` handles the click and remembers the choice."""
    return html.Button(
        "Dark theme",
        id="theme-toggle",
        className="theme-toggle",
        type="button",
        title="Switch between the light and the dark theme",
        **_ARIA_PRESSED,
    )
