"""The live demo: point the seeded fleet at the embedded agent's demo apps.

``make demo``'s agent runs each app through its entry point (``control/demo/apps.py``);
a few apps get short schedules and one a callable that always fails, so there is
something to see within a minute of starting.
"""

from __future__ import annotations

import datetime as dt

from control.demo.seed.plan import Plan
from control.demo.seed.times import next_run

# What the embedded agent runs for each kind (entry points of control/demo/apps.py).
ENTRYPOINTS = {
    "scraper": "demo.scraper",
    "etl": "demo.etl",
    "doc": "demo.documents",
    "monitor": "demo.monitor",
    "service": "demo.service",
}
FAILING_ENTRYPOINT = "demo.failing"
# Short schedules so that `make demo` shows runs, progress and pipeline tasks within a
# minute of starting (the history was simulated with the catalogue's schedules).
LIVE_SCHEDULES = {
    "monitor_source_health": "*/1 * * * *",
    "doc_invoice_pipeline": "*/1 * * * *",
    "doc_registration_filings": "*/2 * * * *",
    "doc_ocr_pipeline": "*/2 * * * *",
    "scraper_fuel_prices_de": "*/2 * * * *",
    "etl_currency_rates": "*/2 * * * *",
    "monitor_queue_depth": "*/2 * * * *",
    "doc_court_ruling_pipeline": "*/3 * * * *",
    "scraper_company_registry_uk": "*/4 * * * *",
    "etl_vat_validation": "*/5 * * * *",
}
# The first of these that is neither fatal nor disabled always fails (and turns FATAL).
FAILING_CANDIDATES = (
    "scraper_gazette_notices_nl",
    "scraper_gazette_notices_pl",
    "scraper_consumer_prices_fr",
    "scraper_court_rulings_de",
)


def wire_for_agent(plans: list[Plan], now: dt.datetime) -> None:
    """Point every app at its demo entry point; give a few short schedules and one a
    callable that always fails, so the embedded agent has something to show at once."""
    for plan in plans:
        plan.row["settings"]["entrypoint"] = ENTRYPOINTS[plan.kind]
    live = [p for p in plans if p.state in ("idle", "running")]
    by_id = {p.app_id: p for p in live}
    failing = next((by_id[i] for i in FAILING_CANDIDATES if i in by_id), None)
    if failing is not None:
        failing.row["settings"]["entrypoint"] = FAILING_ENTRYPOINT
        failing.row["schedule"] = "*/1 * * * *"
    for app_id, schedule in LIVE_SCHEDULES.items():
        if app_id in by_id:
            by_id[app_id].row["schedule"] = schedule
    for plan in live:
        row = plan.row
        row["next_run"] = next_run(row["schedule"], row["timezone"], now)
