"""A realistic demo fleet: apps, their runs, logs, function timings and document tasks.

``seed_demo`` fills the (already migrated) database bound to ``control.db.database``;
``make_apps`` builds only the app rows, as plain dicts, for benchmarks that need many.
Every choice comes from one ``random.Random(seed)``, so a seed and a ``now`` always give
the same data. Timestamps are naive UTC like every other column.

The package, by concern (each module's docstring says more):

- ``catalogue``: the base apps (countries, groups, schedules, descriptions);
- ``kinds``: how each kind of scheduled app behaves (phases, lengths, volumes, failures);
- ``times``: offsets, cron fire times, log-uniform draws;
- ``plan``: each app's row and settings, and which apps are FATAL, disabled, running;
- ``history``: the runs being generated and the rows they write;
- ``runs``, ``services``, ``documents``: the simulation of scheduled runs, long-running
  services and document tasks; ``bodies``: the log lines of a run per kind;
- ``live``: pointing the fleet at ``make demo``'s embedded agent;
- ``fleet``: ``seed_demo``, which simulates every app and inserts the rows.

Only the names below are the package's interface.
"""

from control.demo.seed.fleet import SeedSummary, seed_demo
from control.demo.seed.live import (
    ENTRYPOINTS,
    FAILING_CANDIDATES,
    FAILING_ENTRYPOINT,
    LIVE_SCHEDULES,
)
from control.demo.seed.plan import make_apps

__all__ = [
    "ENTRYPOINTS",
    "FAILING_CANDIDATES",
    "FAILING_ENTRYPOINT",
    "LIVE_SCHEDULES",
    "SeedSummary",
    "make_apps",
    "seed_demo",
]
