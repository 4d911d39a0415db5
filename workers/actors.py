"""Every actor, declared on the broker :func:`workers.broker.setup` builds.

Each concern's module (``bulk``, ``notifications``, ``maintenance``) keeps its actors'
functions and options and a ``declare(broker, tasks)`` that declares them; nothing is
declared at import, so an actor always lands on the broker set up, whatever imported
the module first.
"""

from __future__ import annotations

import dramatiq

from control.settings import Settings
from control.tasks.dramatiq import DramatiqTaskQueue
from workers import bulk, maintenance, notifications


def declare(broker: dramatiq.Broker, settings: Settings) -> None:
    """Declare every actor on ``broker``; actors that send work send it there."""
    tasks = DramatiqTaskQueue(broker)
    bulk.declare(broker, tasks)
    notifications.declare(broker, tasks, settings)
    maintenance.declare(broker, tasks)
