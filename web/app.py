"""The app factory: builds settings, the database binding, middleware and routes."""

from __future__ import annotations

import falcon
import falcon.asgi

from control.db.database import database, init_database
from control.log_context import configure_logging
from control.settings import Settings, get_settings
from web import docs, errors, media
from web.middleware.authentication import AuthenticationMiddleware
from web.middleware.body_limit import BodyLimitMiddleware
from web.middleware.client_ip import ClientIpMiddleware
from web.middleware.cors import CorsMiddleware
from web.middleware.request_id import RequestIdMiddleware
from web.middleware.security_headers import SecurityHeadersMiddleware
from web.resources import auth
from web.resources.apps import AppsResource
from web.resources.health import HealthResource
from web.wiring import Services, build_services

API = "/api/v1"


def add_routes(app: falcon.asgi.App, services: Services) -> None:
    """Every API route. Later areas add theirs here (and to web/permissions.py)."""
    app.add_route(f"{API}/auth/token", auth.TokenResource(services))
    app.add_route(f"{API}/auth/refresh", auth.RefreshResource(services))
    app.add_route(f"{API}/auth/service", auth.ServiceTokenResource(services))
    app.add_route(f"{API}/auth/logout", auth.LogoutResource(services))
    app.add_route(f"{API}/auth/me", auth.MeResource(services))
    apps = AppsResource()
    app.add_route(f"{API}/apps", apps)
    app.add_route(f"{API}/apps/{{app_id}}", apps, suffix="item")
    app.add_route(f"{API}/system/health", HealthResource(services))


def create_app(
    settings: Settings | None = None,
    *,
    bind_database: bool = True,
    services: Services | None = None,
) -> falcon.asgi.App:
    """Build the ASGI app from ``settings`` (the environment's by default)."""
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    if bind_database and database.obj is None:
        init_database(settings.database_url)
    services = services or build_services(settings)

    app = falcon.asgi.App(
        middleware=[
            RequestIdMiddleware(),
            SecurityHeadersMiddleware(),
            CorsMiddleware(settings.cors_origins, settings.api_key_header),
            ClientIpMiddleware(settings.trusted_proxies),
            BodyLimitMiddleware(settings.max_body_bytes),
            AuthenticationMiddleware(services),
        ],
    )
    app.req_options.strip_url_path_trailing_slash = True
    app.req_options.auto_parse_qs_csv = False
    media.install(app)
    errors.install(app)
    add_routes(app, services)
    docs.install(app)
    return app
