"""The app factory: builds settings, the database binding, middleware and routes."""

from __future__ import annotations

import falcon
import falcon.asgi

from control.db.database import database, init_database
from control.log_context import configure_logging
from control.settings import Settings, get_settings
from web import docs, errors, media
from web.middleware.body_limit import BodyLimitMiddleware
from web.middleware.request_id import RequestIdMiddleware
from web.resources.apps import AppsResource
from web.resources.health import HealthResource

API = "/api/v1"


def add_routes(app: falcon.asgi.App) -> None:
    """Every API route. Later areas add theirs here."""
    apps = AppsResource()
    app.add_route(f"{API}/apps", apps)
    app.add_route(f"{API}/apps/{{app_id}}", apps, suffix="item")
    app.add_route(f"{API}/system/health", HealthResource())


def create_app(settings: Settings | None = None, *, bind_database: bool = True) -> falcon.asgi.App:
    """Build the ASGI app from ``settings`` (the environment's by default)."""
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    if bind_database and database.obj is None:
        init_database(settings.database_url)

    app = falcon.asgi.App(
        middleware=[
            RequestIdMiddleware(),
            BodyLimitMiddleware(settings.max_body_bytes),
        ],
    )
    app.req_options.strip_url_path_trailing_slash = True
    app.req_options.auto_parse_qs_csv = False
    media.install(app)
    errors.install(app)
    add_routes(app)
    docs.install(app)
    return app
