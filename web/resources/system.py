"""``/api/v1/system/metrics``, ``/agents``, ``/queues``, ``/config`` and the Prometheus
``/metrics``.

Roles: metrics, agents and queues are READ (any role). The configuration is ADMIN for
reading as well as changing: even redacted it maps the deployment (hosts, ports,
limits), and the spec's viewers read status and logs, not configuration.

``/metrics`` is declared PUBLIC and checked here: a caller with a valid
credential (any role) is admitted, and so is a caller without one whose address is in
``DC_METRICS_ALLOWLIST`` (default the loopback addresses), so a local Prometheus needs
no token. A request relayed by a proxy that is not in ``DC_TRUSTED_PROXIES`` is not
admitted by address: nginx on the same host would otherwise make every outside client
look like 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
from typing import Any

import falcon
import falcon.asgi

from control.agents import services as agents
from control.clock import utcnow
from control.errors import Unauthenticated
from control.system import metrics, runtime_settings
from control.system.prometheus import CONTENT_TYPE, PrometheusMetrics
from control.system.queue_report import QueueReport
from web import envelope
from web.audit_context import audit_context
from web.client_ip import parse_proxies
from web.concurrency import run_db
from web.openapi import operation
from web.permissions import ADMIN, PUBLIC, READ
from web.schemas.system import (
    AgentsResponse,
    ConfigUpdate,
    MetricsQuery,
    SystemConfigResponse,
    SystemMetricsResponse,
    SystemQueuesResponse,
)
from web.wiring import LiveSettings

TAGS = ("system",)
DEFAULT_WINDOW = dt.timedelta(hours=1)
FORWARDING_HEADERS = ("X-Forwarded-For", "X-Real-IP", "Forwarded")


class SystemMetricsResource:
    """The host's figures now, and the sampled history."""

    @operation(
        "System metrics (CPU, memory, disk)",
        tags=TAGS,
        query=MetricsQuery,
        response=SystemMetricsResponse,
        errors=(401, 403),
        roles=READ,
    )
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """``now``: CPU (since the previous sample), load, memory, swap, the disk holding
        the database, process counts, uptime. ``history``: the samples stored in
        ``[from, to)`` (default the last hour), oldest first, at most 1000 points:
        averaged per ``bucket`` seconds when asked or when there are more."""
        q: MetricsQuery = req.context.query
        until = q.until or utcnow()
        since = q.since or until - DEFAULT_WINDOW
        now = await asyncio.to_thread(metrics.sample)
        past = await run_db(metrics.history, since, until, q.bucket)
        resp.media = envelope.single(
            {
                "now": now,
                "history": past["points"],
                "bucket_seconds": past["bucket_seconds"],
                "from": since,
                "to": until,
            }
        )


class SystemAgentsResource:
    """The agents, from their heartbeats."""

    def __init__(self, live: LiveSettings) -> None:
        self.live = live

    @operation(
        "Agents: online or not, slots, running and queued apps",
        tags=TAGS,
        response=AgentsResponse,
        roles=READ,
    )
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Every agent that ever beat (online first, then by name): its host, groups,
        version, when it was last seen and whether that is within
        ``DC_AGENT_OFFLINE_AFTER_SECONDS`` (``online``), its slots and how many are
        busy, the apps it runs and the apps waiting for one of its slots. An agent that
        was killed turns offline once the timeout has passed; its row keeps naming the
        apps it held."""
        offline_after = self.live.settings.agent_offline_after_seconds
        found = await run_db(agents.list_agents, offline_after)
        online = sum(1 for agent in found if agent["online"])
        resp.media = {
            "data": found,
            "meta": {
                "offline_after_seconds": offline_after,
                "online": online,
                "offline": len(found) - online,
            },
        }


class SystemQueuesResource:
    """The brokers' queues and the command outbox."""

    def __init__(self, queues: QueueReport) -> None:
        self.queues = queues

    @operation(
        "Queues: depth, consumers, rates; the outbox backlog",
        tags=TAGS,
        response=SystemQueuesResponse,
        roles=READ,
    )
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """The Dramatiq queues with their delay (``.DQ``) and dead-letter (``.XQ``)
        queues, and the command exchange's queues: messages, consumers and (with
        ``DC_RABBITMQ_MANAGEMENT_URL``) ready/unacknowledged messages and rates, read
        from RabbitMQ's management API, passive declares, or Redis. A broker that cannot
        be read is named in ``errors``. ``outbox``: commands not yet published and the
        age of the oldest."""
        resp.media = envelope.single(await run_db(self.queues.report))


class SystemConfigResource:
    """The effective configuration (redacted) and its run-time changes."""

    def __init__(self, runtime: runtime_settings.RuntimeConfig) -> None:
        self.runtime = runtime  # keeps the live settings (runtime.holder)

    def _view(self) -> dict[str, Any]:
        runtime = self.runtime
        return runtime_settings.effective_config(runtime.base, running=runtime.holder.settings)

    @operation(
        "Current configuration (redacted secrets)",
        tags=TAGS,
        response=SystemConfigResponse,
        errors=(401, 403),
        roles=ADMIN,
    )
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Every setting with its effective value, where it comes from (``default``,
        ``environment`` or ``runtime``) and whether it can change at run time. Secrets
        never leave: secret fields are ``********``, URLs lose their user and password,
        secret ``key=value`` items their value. Admins only."""
        resp.media = envelope.single(await run_db(self._view))

    @operation(
        "Update configuration (admin only)",
        tags=TAGS,
        body=ConfigUpdate,
        response=SystemConfigResponse,
        errors=(401, 403),
        roles=ADMIN,
    )
    async def on_post(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Change run-time settings: ``{"changes": {"rate_limit_per_minute": 200}}``
        (``null`` restores the environment's value). A setting that cannot change at run
        time, or is unknown, is a 400 naming ``changes.<name>``; a bad value a 422. The
        change is stored and audited (``system.config.update``, with each setting's old
        and new value), applied at once by this process when it is live (rate limits,
        log level) and by the other processes within 30 s; the others apply at the next
        restart. Answers the configuration as GET does."""
        body: ConfigUpdate = req.context.body
        req.context.audit_action = runtime_settings.AUDIT_ACTION  # a refusal's row too
        # The update's transaction writes the audit row; a refusal (400, 422) is recorded
        # by the audit middleware instead.
        stored = await run_db(
            runtime_settings.update,
            self.runtime.base,
            body.changes,
            audit_context(req, status=200),
        )
        self.runtime.apply(stored)
        resp.media = envelope.single(await run_db(self._view))


def _network_list(entries: list[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(entry, strict=False) for entry in entries]


def address_allowed(address: str | None, allowlist: list[str]) -> bool:
    """Whether ``address`` is in one of the allowlist's IPs or networks."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in net for net in _network_list(allowlist))


class PrometheusResource:
    """``GET /metrics``: Prometheus text format, for a credential or an allowed address."""

    def __init__(self, live: LiveSettings, metrics: PrometheusMetrics) -> None:
        self.live = live
        self.metrics = metrics

    def _admitted_by_address(self, req: falcon.asgi.Request) -> bool:
        settings = self.live.settings
        relayed = any(req.get_header(name) for name in FORWARDING_HEADERS)
        if relayed and not address_allowed(
            req.remote_addr, [str(net) for net in parse_proxies(settings.trusted_proxies)]
        ):
            return False  # an untrusted proxy: the peer's address says nothing of the client
        address = getattr(req.context, "client_ip", None) or req.remote_addr
        return address_allowed(address, settings.metrics_allowlist)

    @operation("Prometheus metrics", tags=TAGS, errors=(401,), roles=PUBLIC)
    async def on_get(self, req: falcon.asgi.Request, resp: falcon.asgi.Response) -> None:
        """Prometheus text format: request counts and latencies by route template, apps
        by run status, fatal and disabled apps, pipeline tasks finished in the last hour
        by document type, pending commands and the outbox lag. A bearer token or API key
        of any role, or no credential from an address in ``DC_METRICS_ALLOWLIST``."""
        if req.context.principal is None and not self._admitted_by_address(req):
            raise Unauthenticated("Authentication required (or scrape from an allowed address).")
        resp.data = await run_db(self.metrics.exposition)
        resp.content_type = CONTENT_TYPE
        resp.cache_control = ["no-store"]
