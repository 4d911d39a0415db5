"""Dramatiq workers: the broker first, then every actor module.

``dramatiq workers`` (the Procfile's ``worker``) imports this package: the broker is
set from settings before any actor is declared, so every actor lands on it.
"""

import workers.broker  # first: builds the broker from settings and sets it globally
import workers.bulk  # actors the bulk endpoints send
import workers.maintenance  # actors the scheduler sends
import workers.notifications  # noqa: F401  (actors, after the broker)
