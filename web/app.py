"""The app factory: builds settings, the database binding, middleware and routes.

It imports no worker: what sends work gets the task queue the composition root hands
to :func:`create_app` (``control/cli/asgi.py``), and so does the embedded worker's
middleware (``embedded``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import falcon
import falcon.asgi

from control.db.database import database, init_database
from control.events.interface import EventBus
from control.log_context import configure_logging
from control.settings import Settings, get_settings
from control.tasks.interface import TaskQueue
from control.tasks.memory import InProcessTaskQueue
from web import docs, errors, media
from web.fields import RowIdConverter
from web.lifecycle import AgentLifecycle, CommandRelayLifecycle, RuntimeSettingsRefresh
from web.middleware.audit import AuditMiddleware
from web.middleware.authentication import AuthenticationMiddleware
from web.middleware.body_limit import BodyLimitMiddleware
from web.middleware.client_ip import ClientIpMiddleware
from web.middleware.cors import CorsMiddleware
from web.middleware.metrics import MetricsMiddleware
from web.middleware.owner_rate_limit import OwnerRateLimitMiddleware
from web.middleware.rate_limit import RateLimitMiddleware
from web.middleware.request_id import RequestIdMiddleware
from web.middleware.security_headers import SecurityHeadersMiddleware
from web.resources import auth
from web.resources.activity import ActivityResource, ActivityStatsResource
from web.resources.app_health import AppHealthResource, FleetHealthResource
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
    PipelineStagesResource,
    PipelineTasksResource,
    PipelineThroughputResource,
)
from web.resources.runtimes import RuntimesResource
from web.resources.settings import ApiKeysResource, SettingsResource
from web.resources.system import (
    PrometheusResource,
    SystemAgentsResource,
    SystemConfigResource,
    SystemMetricsResource,
    SystemQueuesResource,
)
from web.routing import AsgiApp, Router, RouteTable, answer_head_like_get
from web.wiring import LiveSettings, Services, build_services
from web.ws.resources import DashboardSocket, LogsSocket

API = "/api/v1"


def add_routes(app: AsgiApp, services: Services, tasks: TaskQueue) -> None:
    """Every API route, each resource given the collaborators it uses (nothing else).

    Each responder declares its roles (``@operation(roles=...)``, web/permissions.py).
    """
    live: LiveSettings = services  # the settings as run-time changes leave them
    cursors, sessions = services.cursors, services.sessions
    app.add_route(f"{API}/auth/token", auth.TokenResource(sessions))
    app.add_route(f"{API}/auth/refresh", auth.RefreshResource(sessions))
    app.add_route(f"{API}/auth/service", auth.ServiceTokenResource(sessions))
    app.add_route(f"{API}/auth/logout", auth.LogoutResource(sessions))
    app.add_route(f"{API}/auth/me", auth.MeResource(sessions))
    apps = AppsResource(cursors, live)
    app.add_route(f"{API}/apps", apps)
    app.add_route(f"{API}/apps/{{app_id}}", apps, suffix="item")
    app.add_route(f"{API}/groups", GroupsResource())
    app.add_route(f"{API}/apps/{{app_id}}/health", AppHealthResource())
    app.add_route(f"{API}/health/fleet", FleetHealthResource())
    app_commands = AppCommandsResource()
    for verb in ("start", "stop", "reset"):
        app.add_route(f"{API}/apps/{{app_id}}/{verb}", app_commands, suffix=verb)
    commands = CommandsResource()
    app.add_route(f"{API}/commands/{{command_id}}", commands, suffix="item")
    app.add_route(f"{API}/commands/{{command_id}}/ack", commands, suffix="ack")
    runtimes = RuntimesResource(cursors)
    app.add_route(f"{API}/runtimes", runtimes)
    app.add_route(f"{API}/runtimes/recent", runtimes, suffix="recent")
    app.add_route(f"{API}/runtimes/{{runtime_id}}", runtimes, suffix="item")
    app.add_route(f"{API}/runtimes/{{runtime_id}}/notes", runtimes, suffix="notes")
    app.add_route(f"{API}/logs", LogsResource(cursors))
    app.add_route(f"{API}/logs/export", LogExportResource())
    app.add_route(f"{API}/system/health", HealthResource(live, services.store, services.started))
    app.add_route(f"{API}/system/metrics", SystemMetricsResource())
    app.add_route(f"{API}/system/config", SystemConfigResource(services.runtime))
    app.add_route(f"{API}/system/agents", SystemAgentsResource(live))
    app.add_route(f"{API}/system/queues", SystemQueuesResource(services.queues))
    app.add_route(
        "/metrics", PrometheusResource(live, services.metrics)
    )  # Prometheus, not under /api
    app.add_route(f"{API}/settings", SettingsResource())
    api_keys = ApiKeysResource(live)
    app.add_route(f"{API}/settings/api-keys", api_keys)
    app.add_route(f"{API}/settings/api-keys/{{key_id:id}}", api_keys, suffix="item")
    app.add_route(f"{API}/activity", ActivityResource(cursors))
    app.add_route(f"{API}/activity/stats", ActivityStatsResource())
    pipeline_tasks = PipelineTasksResource()
    app.add_route(f"{API}/pipelines/tasks", pipeline_tasks)
    app.add_route(f"{API}/pipelines/tasks/{{task_id:id}}", pipeline_tasks, suffix="item")
    app.add_route(f"{API}/pipelines/throughput", PipelineThroughputResource())
    app.add_route(f"{API}/pipelines/errors", PipelineErrorsResource())
    app.add_route(f"{API}/pipelines/stages", PipelineStagesResource())
    # literal segments win over {app_id} in Falcon's router, whatever the order
    function_logs = FunctionLogsResource(cursors)
    app.add_route(f"{API}/performance/functions", function_logs)
    app.add_route(f"{API}/performance/functions/slowest", SlowestFunctionsResource())
    app.add_route(f"{API}/performance/functions/trends", FunctionTrendsResource())
    app.add_route(f"{API}/performance/functions/{{app_id}}", function_logs, suffix="item")
    app.add_route(f"{API}/ws/dashboard", DashboardSocket(live, services.credentials, services.hub))
    logs_socket = LogsSocket(live, services.credentials, services.hub)
    app.add_route(f"{API}/ws/logs", logs_socket)
    app.add_route(f"{API}/logs/stream", logs_socket)  # the spec's name for the same feed
    channels = ChannelsResource()
    app.add_route(f"{API}/notifications/channels", channels)
    app.add_route(f"{API}/notifications/channels/{{channel_id:id}}", channels, suffix="item")
    app.add_route(f"{API}/notifications/history", HistoryResource(cursors))
    app.add_route(f"{API}/notifications/test/{{channel_id:id}}", TestSendResource(tasks))
    dead_jobs = DeadJobsResource(tasks)
    app.add_route(f"{API}/jobs/dead", dead_jobs)
    app.add_route(f"{API}/jobs/dead/{{job_id:id}}/requeue", dead_jobs, suffix="requeue")
    bulk = BulkResource(live, tasks)
    for verb in ("start", "stop", "command"):
        app.add_route(f"{API}/bulk/{verb}", bulk, suffix=verb)
    bulk_jobs = BulkJobsResource()
    app.add_route(f"{API}/bulk/jobs", bulk_jobs)
    app.add_route(f"{API}/bulk/jobs/{{job_id}}", bulk_jobs, suffix="item")
    app.add_route(f"{API}/bulk/jobs/{{job_id}}/cancel", bulk_jobs, suffix="cancel")


def create_app(
    settings: Settings | None = None,
    *,
    bind_database: bool = True,
    services: Services | None = None,
    tasks: TaskQueue | None = None,
    embedded: Callable[[Settings, EventBus], Sequence[object]] | None = None,
) -> AsgiApp:
    """Build the ASGI app from ``settings`` (the environment's by default).

    With ``services`` given, their settings are the app's: ``settings`` then only picks
    logging and the database binding. The factory reads nothing: the stored run-time
    settings are applied by the composition root beforehand (``services.runtime.load``,
    ``control/cli/webapp.py``) and re-read every 30 s by the app's lifespan. ``tasks``
    is where bulk jobs, notification deliveries and requeued dead jobs are sent (without
    one, an in-process queue that only keeps them: tests); ``embedded`` (settings, bus)
    gives the lifespan middleware that runs a worker in this process (the embedded
    default, ``workers/embedded.py``).
    """
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.access_log_level)
    if bind_database and database.obj is None:
        init_database(settings.database_url)
    services = services or build_services(settings)
    settings = services.settings

    # the app's routes: the router, and what its responders declared (roles) for the
    # middleware that needs a route before or besides Falcon's routing
    router = Router()
    # one id rule for every integer path id: {name:id} (web/fields.py)
    router.options.converters["id"] = RowIdConverter
    routes = RouteTable(router)
    authentication = AuthenticationMiddleware(services.credentials, routes, settings.api_key_header)
    rate_limit = RateLimitMiddleware(services.store, services, settings.api_key_header)
    # The embedded default runs the outbox relay, the agent and a Dramatiq worker inside
    # this process; tests that are not about them switch them off (they cost a second
    # per simulated request, whose lifespan starts and stops them each time).
    background = (
        [
            CommandRelayLifecycle(settings),  # lifespan only: the embedded outbox relay
            AgentLifecycle(settings),  # lifespan only: the embedded agent (demo apps)
            # lifespan only, in-process broker only: Dramatiq worker, notification router
            *(embedded(settings, services.bus) if embedded is not None else ()),
        ]
        if settings.embedded_background
        else []
    )
    # Falcon types each middleware by the hooks it has; a list mixing them is Any to mypy
    middleware: list[Any] = [
        MetricsMiddleware(services.metrics, routes),  # first: times and counts every answer
        RequestIdMiddleware(),
        SecurityHeadersMiddleware(),
        CorsMiddleware(settings.cors_origins, settings.api_key_header),
        ClientIpMiddleware(settings.trusted_proxies),
        rate_limit,
        BodyLimitMiddleware(settings.max_body_bytes),
        authentication,
        OwnerRateLimitMiddleware(rate_limit),  # after authentication: who is calling
        AuditMiddleware(routes),
        services.hub,  # lifespan only: subscribes to the event bus, closes sockets
        RuntimeSettingsRefresh(services.runtime),  # lifespan only: re-reads them every 30 s
        *background,
    ]
    app: AsgiApp = falcon.asgi.App(middleware=middleware, router=router)
    app.req_options.strip_url_path_trailing_slash = True
    app.req_options.auto_parse_qs_csv = False
    media.install(app)
    errors.install(app)
    add_routes(app, services, tasks if tasks is not None else InProcessTaskQueue())
    docs.install(app, settings.api_key_header)
    answer_head_like_get(app)
    return app
