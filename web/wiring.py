"""The collaborators the web process shares, built once from settings."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol

from control.auth.api_keys import ApiKeyVerifier
from control.auth.credentials import CredentialVerifier
from control.auth.principal_cache import PrincipalCache
from control.auth.revocation import RevocationStore
from control.auth.sessions import SessionService
from control.auth.tokens import TokenService
from control.auth.wiring import build_session_service
from control.events import EventBus, build_bus
from control.kv import KeyValueStore, build_store
from control.settings import Settings
from control.system import queues
from control.system.prometheus import PrometheusMetrics
from control.system.queue_report import QueueReport
from control.system.runtime_settings import RuntimeConfig
from web.cursor import CursorCodec
from web.ws.hub import Hub


class LiveSettings(Protocol):
    """The process's current settings. A run-time change (control/system/runtime_settings.py)
    replaces ``settings``, so a reader that must follow it reads it per request."""

    @property
    def settings(self) -> Settings: ...


@dataclass
class Services:
    """The collaborators the app factory builds once and hands out, each to the resources
    and middleware that use it (web/app.py). It holds the live settings."""

    settings: Settings
    store: KeyValueStore
    revocations: RevocationStore
    tokens: TokenService
    sessions: SessionService
    credentials: CredentialVerifier
    cursors: CursorCodec
    bus: EventBus
    hub: Hub  # the WebSocket fan-out of ``bus``; started by the app's lifespan
    started: float = field(default_factory=time.time)
    metrics: PrometheusMetrics = field(default_factory=PrometheusMetrics, repr=False)
    # the brokers' queues and the outbox (``/api/v1/system/queues``)
    queues: QueueReport = field(
        default_factory=lambda: QueueReport(None, None, "memory"), repr=False
    )
    # run-time settings (control/system/runtime_settings.py): keeps ``settings`` current
    runtime: RuntimeConfig = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.runtime = RuntimeConfig(self)


def build_services(
    settings: Settings, store: KeyValueStore | None = None, bus: EventBus | None = None
) -> Services:
    """Wire the services: Redis-backed when ``DC_REDIS_URL`` is set, else in-process/DB.

    Sessions are built by ``control.auth.wiring``, which ``dcctl`` uses too, so both
    processes keep revocations in the same place.
    """
    store = store or build_store(settings.redis_url)
    sessions = build_session_service(settings, store)
    bus = bus or build_bus(settings.redis_url, channel=settings.events_channel)
    report = QueueReport.for_settings(settings)
    hub = Hub(
        bus,
        per_user=settings.ws_max_connections_per_user,
        per_ip=settings.ws_max_connections_per_ip,
    )
    return Services(
        settings=settings,
        store=store,
        revocations=sessions.revocations,
        tokens=sessions.tokens,
        sessions=sessions,
        credentials=CredentialVerifier(
            sessions.tokens,
            sessions.revocations,
            ApiKeyVerifier(),
            PrincipalCache(settings.principal_cache_seconds),
        ),
        cursors=CursorCodec(settings.jwt_secret.get_secret_value().encode()),
        bus=bus,
        hub=hub,
        metrics=PrometheusMetrics(dead_letters=queues.for_settings(settings), queues=report),
        queues=report,
    )
