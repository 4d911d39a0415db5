"""The Dash callbacks, one module per job; ``register`` wires them all onto an app."""

from __future__ import annotations

import dash

from control.settings import Settings
from dashboard.callbacks import (
    app_detail,
    apps_table,
    bulk_actions,
    data_processor,
    live_logs,
    routing,
    session,
    sidebar,
    statistics,
)


def register(app: dash.Dash, settings: Settings) -> None:
    session.register(app)
    routing.register(app)
    sidebar.register(app)
    apps_table.register(app)
    bulk_actions.register(app)
    app_detail.register(app)
    statistics.register(app)
    data_processor.register(app)
    live_logs.register(app, settings)
