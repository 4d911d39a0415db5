"""The Dash callbacks, one module per job; ``register`` wires them all onto an app."""

from __future__ import annotations

import dash

from control.settings import Settings
from dashboard.callbacks import (
    agents_queues,
    api_banner,
    app_actions,
    app_detail,
    apps_table,
    bulk_actions,
    data_processor,
    live_logs,
    live_updates,
    routing,
    session,
    sidebar,
    statistics,
    user_settings,
    view_state,
)
from dashboard.callbacks.admin import register as register_admin


def register(app: dash.Dash, settings: Settings) -> None:
    session.register(app)
    api_banner.register(app)
    routing.register(app)
    sidebar.register(app)
    register_admin(app)
    apps_table.register(app)
    bulk_actions.register(app)
    app_detail.register(app)
    app_actions.register(app)
    statistics.register(app)
    agents_queues.register(app)
    data_processor.register(app)
    live_logs.register(app, settings)
    view_state.register(app)
    user_settings.register(app)
    live_updates.register(app, settings)
