"""The web process composed: the API, the broker and, embedded, a worker inside it.

``workers.broker.setup`` builds the Dramatiq broker from settings and declares every
actor on it; the API gets a task queue on that broker and, with the in-process broker
(the embedded default), the lifespan middleware that runs a worker in this process.
Used by ``control/cli/asgi.py`` (gunicorn) and ``dcctl serve``.
"""

from __future__ import annotations

import falcon.asgi

from control.db.database import database, init_database
from control.events.interface import EventBus
from control.settings import Settings, get_settings
from control.tasks.dramatiq import DramatiqTaskQueue
from web.app import create_app
from web.wiring import build_services
from workers.broker import setup
from workers.embedded import EmbeddedWorker, embedded_middleware


def build_app(
    settings: Settings | None = None,
) -> falcon.asgi.App[falcon.asgi.Request, falcon.asgi.Response]:
    """The API with its broker (and, with the in-process one, its embedded worker)."""
    settings = settings or get_settings()
    if database.obj is None:
        init_database(settings.database_url)
    services = build_services(settings)
    # the stored run-time settings win over the environment's (they are read once here,
    # then every 30 s by the app's lifespan): the broker and the app are built with them
    services.runtime.load(startup=True)
    settings = services.settings
    broker = setup(settings)

    def embedded(settings: Settings, bus: EventBus) -> list[EmbeddedWorker]:
        return embedded_middleware(settings, broker, bus)

    return create_app(
        settings, services=services, tasks=DramatiqTaskQueue(broker), embedded=embedded
    )
