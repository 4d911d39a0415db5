"""The app factory: builds settings, the database binding, middleware and routes."""

from __future__ import annotations

import falcon
import falcon.asgi

from control.db.database import database, init_database
from control.log_context import configure_logging
from control.settings import Settings, get_settings
from web import docs, errors, media
from web.lifecycle import AgentLifecycle, CommandRelayLifecycle
from web.middleware.audit import AuditMiddleware
from web.middleware.authentication import AuthenticationMiddleware
from web.middleware.body_limit import BodyLimitMiddleware
from web.middleware.client_ip import ClientIpMiddleware
from web.middleware.cors import CorsMiddleware
from web.middleware.metrics import MetricsMiddleware
from web.middleware.rate_limit import RateLimitMiddleware
from web.middleware.request_id import RequestIdMiddleware
from web.middleware.security_headers import SecurityHeadersMiddleware
from web.resources import auth
from web.resources.activity import ActivityResource, ActivityStatsResource
from web.resources.apps import AppsResource, GroupsResource
from web.resources.bulk import BulkJobsResource, BulkResource
from web.resources.commands import AppCommandsResource, CommandsResource
from web.resources.health import HealthResource
from web.resources.jobs import DeadJobsResource
from web.resources.logs import LogExportResource, LogsResource
from web.resources.notifications import (
    ChannelsResource,
    HistoryResource,
    TestSendResource,
)
from web.resources.performance import (
    FunctionLogsResource,
    FunctionTrendsResource,
    SlowestFunctionsResource,
)
from web.resources.pipelines import (
    PipelineErrorsResource,
    PipelineTasksResource,
    PipelineThroughputResource,
)
from web.resources.runtimes import RuntimesResource
from web.resources.settings import ApiKeysResource, SettingsResource
from web.resources.system import (
    PrometheusResource,
    SystemConfigResource,
    SystemMetricsResource,
)
from web.wiring import Services, build_services
from web.ws.resources import DashboardSocket, LogsSocket
from workers.embedded import embedded_middleware

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
    app.add_route(f"{API}/groups", GroupsResource())
    app_commands = AppCommandsResource()
    for verb in ("start", "stop", "reset"):
        app.add_route(f"{API}/apps/{{app_id}}/{verb}", app_commands, suffix=verb)
    commands = CommandsResource()
    app.add_route(f"{API}/commands/{{command_id}}", commands, suffix="item")
    app.add_route(f"{API}/commands/{{command_id}}/ack", commands, suffix="ack")
    runtimes = RuntimesResource(services)
    app.add_route(f"{API}/runtimes", runtimes)
    app.add_route(f"{API}/runtimes/{{runtime_id}}", runtimes, suffix="item")
    app.add_route(f"{API}/logs", LogsResource(services))
    app.add_route(f"{API}/logs/export", LogExportResource())
    app.add_route(f"{API}/system/health", HealthResource(services))
    app.add_route(f"{API}/system/metrics", SystemMetricsResource())
    app.add_route(f"{API}/system/config", SystemConfigResource(services))
    app.add_route("/metrics", PrometheusResource(services))  # Prometheus, not under /api
    app.add_route(f"{API}/settings", SettingsResource(services))
    api_keys = ApiKeysResource(services)
    app.add_route(f"{API}/settings/api-keys", api_keys)
    app.add_route(f"{API}/settings/api-keys/{{key_id}}", api_keys, suffix="item")
    app.add_route(f"{API}/activity", ActivityResource(services))
    app.add_route(f"{API}/activity/stats", ActivityStatsResource())
    tasks = PipelineTasksResource()
    app.add_route(f"{API}/pipelines/tasks", tasks)
    app.add_route(f"{API}/pipelines/tasks/{{task_id}}", tasks, suffix="item")
    app.add_route(f"{API}/pipelines/throughput", PipelineThroughputResource())
    app.add_route(f"{API}/pipelines/errors", PipelineErrorsResource())
    # literal segments win over {app_id} in Falcon's router, whatever the order
    function_logs = FunctionLogsResource(services)
    app.add_route(f"{API}/performance/functions", function_logs)
    app.add_route(f"{API}/performance/functions/slowest", SlowestFunctionsResource())
    app.add_route(f"{API}/performance/functions/trends", FunctionTrendsResource())
    app.add_route(f"{API}/performance/functions/{{app_id}}", function_logs, suffix="item")
    app.add_route(f"{API}/ws/dashboard", DashboardSocket(services, services.hub))
    logs_socket = LogsSocket(services, services.hub)
    app.add_route(f"{API}/ws/logs", logs_socket)
    app.add_route(f"{API}/logs/stream", logs_socket)  # the spec's name for the same feed
    channels = ChannelsResource()
    app.add_route(f"{API}/notifications/channels", channels)
    app.add_route(f"{API}/notifications/channels/{{channel_id}}", channels, suffix="item")
    app.add_route(f"{API}/notifications/history", HistoryResource(services))
    app.add_route(f"{API}/notifications/test/{{channel_id}}", TestSendResource())
    dead_jobs = DeadJobsResource()
    app.add_route(f"{API}/jobs/dead", dead_jobs)
    app.add_route(f"{API}/jobs/dead/{{job_id}}/requeue", dead_jobs, suffix="requeue")
    bulk = BulkResource(services)
    for verb in ("start", "stop", "command"):
        app.add_route(f"{API}/bulk/{verb}", bulk, suffix=verb)
    bulk_jobs = BulkJobsResource()
    app.add_route(f"{API}/bulk/jobs", bulk_jobs)
    app.add_route(f"{API}/bulk/jobs/{{job_id}}", bulk_jobs, suffix="item")


def create_app(
    settings: Settings | None = None,
    *,
    bind_database: bool = True,
    services: Services | None = None,
) -> falcon.asgi.App:
    """Build the ASGI app from ``settings`` (the environment's by default).

    With ``services`` given, their settings are the app's: ``settings`` then only picks
    logging and the database binding.
    """
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    if bind_database and database.obj is None:
        init_database(settings.database_url)
    services = services or build_services(settings)
    # stored run-time settings win over the environment's (control/system/runtime_config.py)
    services.runtime.load(startup=True)
    settings = services.settings

    authentication = AuthenticationMiddleware(services)
    # The embedded default runs the outbox relay, the agent and a Dramatiq worker inside
    # this process; tests that are not about them switch them off (they cost a second
    # per simulated request, whose lifespan starts and stops them each time).
    background = (
        [
            CommandRelayLifecycle(settings),  # lifespan only: the embedded outbox relay
            AgentLifecycle(settings),  # lifespan only: the embedded agent (demo apps)
            # lifespan only, in-process broker only: Dramatiq worker, notification router
            *embedded_middleware(settings, services.bus),
        ]
        if settings.embedded_background
        else []
    )
    app = falcon.asgi.App(
        middleware=[
            MetricsMiddleware(services.metrics),  # first: times and counts every answer
            RequestIdMiddleware(),
            SecurityHeadersMiddleware(),
            CorsMiddleware(settings.cors_origins, settings.api_key_header),
            ClientIpMiddleware(settings.trusted_proxies),
            RateLimitMiddleware(services),
            BodyLimitMiddleware(settings.max_body_bytes),
            authentication,
            AuditMiddleware(),
            services.hub,  # lifespan only: subscribes to the event bus, closes sockets
            services.runtime,  # lifespan only: re-reads the run-time settings every 30 s
            *background,
        ],
    )
    authentication.attach(app)
    app.req_options.strip_url_path_trailing_slash = True
    app.req_options.auto_parse_qs_csv = False
    media.install(app)
    errors.install(app)
    add_routes(app, services)
    docs.install(app)
    return app
