"""A realistic demo fleet: apps, their runs, logs, function timings and document tasks.

``seed_demo`` fills the (already migrated) database bound to ``control.db.database``;
``make_apps`` builds only the app rows, as plain dicts, for benchmarks that need many.
Every choice comes from one ``random.Random(seed)``, so a seed and a ``now`` always give
the same data. Timestamps are naive UTC like every other column.

Registry groups are countries (``de``, ``fr``, ...): their app ids carry the country,
``scraper_company_registry_de``, while ``Apps.app`` is the name within the parent,
``scraper_company_registry``. Functional groups (``etl``, ``documents``, ``monitoring``,
``platform``) use the app name as the id. Names start with their kind: ``scraper_``,
``etl_``, ``doc_``, ``monitor_`` or ``service_``.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import math
import random
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from croniter import croniter
from peewee import Model, chunked

from control.agent.runner import duration_text
from control.db.database import database, dialect
from control.db.models import (
    Apps,
    FunctionLog,
    Logs,
    PipelineTask,
    Runtime,
    naive_utc,
    utcnow,
)
from control.enums import (
    CommandFlag,
    FatalFlag,
    LogLevel,
    PipelineStatus,
    RunStatus,
    RuntimeStatus,
)
from control.errors import Conflict, InvalidInput

DEBUG = int(LogLevel.DEBUG)
INFO = int(LogLevel.INFO)
WARNING = int(LogLevel.WARNING)
ERROR = int(LogLevel.ERROR)
CRITICAL = int(LogLevel.CRITICAL)

RUNNER = "dc_agent.runner"
BATCH_ROWS = 500
AGENTS = ("agent-1", "agent-2", "agent-3", "agent-4")
STAGES = ("RECEIVED", "OCR", "NER", "VALIDATION", "STORED")
DOCUMENT_TYPES = ("company_registration", "annual_report", "court_ruling", "invoice")

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
# minute of starting (the history above was simulated with the catalogue's schedules).
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


@dataclass(frozen=True)
class SeedSummary:
    """How many rows ``seed_demo`` inserted into each table."""

    apps: int
    runtimes: int
    logs: int
    function_logs: int
    pipeline_tasks: int


# --------------------------------------------------------------------------- catalogue

_COUNTRIES = (
    ("de", "Germany", "Europe/Berlin"),
    ("fr", "France", "Europe/Paris"),
    ("uk", "the United Kingdom", "Europe/London"),
    ("nl", "the Netherlands", "Europe/Amsterdam"),
    ("pl", "Poland", "Europe/Warsaw"),
)

# One app per line: parent | app | schedule.
_COUNTRY_APPS = """
registry | scraper_company_registry | 0 */2 * * *
registry | scraper_registry_changes | 10 */3 * * *
registry | etl_registry_normalize   | 30 */4 * * *
gazette  | scraper_gazette_notices  | 0 6,12,18 * * *
courts   | scraper_court_rulings    | 20 */6 * * *
prices   | scraper_fuel_prices      | 5 */2 * * *
prices   | scraper_consumer_prices  | 0 7 * * *
"""

# One app per line: group | parent | app | schedule ("-": a service) | timezone.
_FUNCTIONAL_APPS = """
etl        | warehouse    | etl_daily_warehouse_load    | 30 2 * * *   | UTC
etl        | warehouse    | etl_company_dedup           | 0 3 * * *    | UTC
etl        | warehouse    | etl_entity_resolution       | 0 */6 * * *  | UTC
etl        | enrichment   | etl_address_geocode         | 0 */4 * * *  | UTC
etl        | enrichment   | etl_sanctions_match         | 15 */2 * * * | UTC
etl        | enrichment   | etl_currency_rates          | 5 * * * *    | UTC
etl        | enrichment   | etl_vat_validation          | 20 */2 * * * | Europe/Brussels
etl        | exports      | etl_export_customer_feed    | 0 6 * * 1-5  | America/New_York
etl        | exports      | etl_export_bi_snapshot      | 0 5 * * *    | UTC
etl        | exports      | etl_price_index             | 45 */3 * * * | Europe/Berlin
documents  | ocr_pipeline | doc_ocr_pipeline            | 0 * * * *    | UTC
documents  | ocr_pipeline | doc_ner_extraction          | 30 */2 * * * | UTC
documents  | ocr_pipeline | service_ocr_worker          | -            | UTC
documents  | invoices     | doc_invoice_pipeline        | 0 */2 * * *  | Europe/Berlin
documents  | invoices     | doc_invoice_matching        | 0 8 * * 1-5  | Europe/Berlin
documents  | filings      | doc_annual_report_parser    | 0 */4 * * *  | UTC
documents  | filings      | doc_registration_filings    | 15 */3 * * * | UTC
documents  | filings      | doc_court_ruling_pipeline   | 0 */6 * * *  | UTC
documents  | archive      | doc_archive_sync            | 0 1 * * *    | UTC
documents  | archive      | doc_classifier              | 10 */2 * * * | UTC
monitoring | health       | monitor_source_health       | */30 * * * * | UTC
monitoring | health       | monitor_agent_resources     | 0 * * * *    | UTC
monitoring | health       | service_heartbeat_collector | -            | UTC
monitoring | quality      | monitor_data_freshness      | 20 * * * *   | UTC
monitoring | quality      | monitor_schema_drift        | 0 */6 * * *  | UTC
monitoring | quality      | monitor_record_quality      | 0 4 * * *    | UTC
monitoring | quality      | monitor_duplicate_rate      | 0 5 * * *    | UTC
monitoring | alerts       | service_alert_router        | -            | UTC
monitoring | alerts       | monitor_sla_report          | 0 7 * * 1    | Europe/London
platform   | proxy        | service_proxy_rotator       | -            | UTC
platform   | proxy        | monitor_proxy_pool          | 10 * * * *   | UTC
platform   | browsers     | service_browser_pool        | -            | UTC
platform   | browsers     | etl_browser_cache_cleanup   | 0 0 * * *    | UTC
platform   | queue        | service_queue_bridge        | -            | UTC
platform   | queue        | etl_dead_letter_replay      | 0 */4 * * *  | UTC
platform   | queue        | monitor_queue_depth         | 15 * * * *   | UTC
platform   | storage      | etl_storage_compaction      | 0 2 * * 0    | UTC
"""

# What each app does; {country} is filled in for the registry groups.
_DESCRIPTIONS = {
    "scraper_company_registry": "Companies and officers from the business registry of {country}",
    "scraper_registry_changes": "New, amended and dissolved companies in the registry of {country}",
    "etl_registry_normalize": "Maps the registry records of {country} onto the common schema",
    "scraper_gazette_notices": "Insolvency notices from the official gazette of {country}",
    "scraper_court_rulings": "Published commercial court rulings in {country}",
    "scraper_fuel_prices": "Fuel station prices across {country}",
    "scraper_consumer_prices": "Shelf prices for the consumer price basket of {country}",
    "etl_daily_warehouse_load": "Nightly load of every normalised source into the warehouse",
    "etl_company_dedup": "Merges duplicate company records across the country registries",
    "etl_entity_resolution": "Links companies, officers and addresses into one entity graph",
    "etl_address_geocode": "Geocodes new and changed addresses",
    "etl_sanctions_match": "Screens new entities against the consolidated sanctions lists",
    "etl_currency_rates": "Hourly FX rates used to normalise prices",
    "etl_vat_validation": "Validates the VAT ids of new companies against VIES",
    "etl_export_customer_feed": "Weekday delta feed delivered to the customers' SFTP drop",
    "etl_export_bi_snapshot": "Daily snapshot for the BI dashboards",
    "etl_price_index": "Recomputes the retail price index from the price scrapers",
    "doc_ocr_pipeline": "OCR for scanned filings from every registry",
    "doc_ner_extraction": "Named-entity extraction (companies, people, amounts) from OCR text",
    "service_ocr_worker": "Always-on OCR worker consuming the dc.ocr queue",
    "doc_invoice_pipeline": "Supplier invoices: OCR, line items and VAT checks",
    "doc_invoice_matching": "Matches parsed invoices against purchase orders",
    "doc_annual_report_parser": "Balance sheet and P&L figures from annual reports",
    "doc_registration_filings": "Registration documents: founders, capital, seat",
    "doc_court_ruling_pipeline": "Court rulings: parties, case numbers and outcomes",
    "doc_archive_sync": "Moves processed documents to cold storage",
    "doc_classifier": "Classifies incoming documents by type before the pipelines pick them up",
    "monitor_source_health": "Probes every source's endpoint and login page",
    "monitor_agent_resources": "CPU, memory and disk of the collector agents",
    "service_heartbeat_collector": "Collects agent and app heartbeats",
    "monitor_data_freshness": "Alerts when a source has produced no records within its SLA",
    "monitor_schema_drift": "Detects new, missing or retyped fields in scraped records",
    "monitor_record_quality": "Daily null-rate and validity report per source",
    "monitor_duplicate_rate": "Tracks duplicate rates after deduplication",
    "service_alert_router": "Routes alerts to Slack, e-mail and PagerDuty",
    "monitor_sla_report": "Weekly SLA report for the data consumers",
    "service_proxy_rotator": "Rotating proxy pool for the scrapers",
    "monitor_proxy_pool": "Checks proxy health and ban rates per source",
    "service_browser_pool": "Headless browser pool for JavaScript-heavy sources",
    "etl_browser_cache_cleanup": "Purges stale browser profiles and caches",
    "service_queue_bridge": "Bridges the agents' job queues to the control plane",
    "etl_dead_letter_replay": "Replays dead-lettered jobs after transient failures",
    "monitor_queue_depth": "Alerts on growing queue backlogs",
    "etl_storage_compaction": "Weekly compaction of the raw-record store",
}


def _table(text: str) -> list[list[str]]:
    """The cells of a ``|``-separated table, one list per non-empty line."""
    return [[cell.strip() for cell in line.split("|")] for line in text.strip().splitlines()]


# service app -> (function logged per interval, what it handles, items per minute)
_SERVICES = {
    "service_ocr_worker": ("process_queue", "documents", 0.0),
    "service_heartbeat_collector": ("collect_heartbeats", "heartbeats", 240.0),
    "service_alert_router": ("route_alerts", "alerts", 0.4),
    "service_proxy_rotator": ("rotate_proxies", "proxied requests", 900.0),
    "service_browser_pool": ("serve_sessions", "browser sessions", 6.0),
    "service_queue_bridge": ("forward_jobs", "jobs", 25.0),
}
_SERVICE_WARNINGS = (
    "Reconnected to Redis after a connection reset (attempt 1)",
    "Broker channel closed by peer; reopening",
    "Slow consumer: {n} messages waiting longer than 60s",
    "Worker {w} exceeded 1.5 GiB RSS; recycling it",
)

_NOUNS = {
    "registry": "company profiles",
    "gazette": "notices",
    "courts": "rulings",
    "prices": "price points",
}
_VALIDATION_REASONS = (
    "missing VAT id",
    "invalid registration number 'HRB 12a'",
    "date of incorporation in the future",
    "duplicate company id",
    "empty company name",
    "postcode does not match the country",
    "price is negative",
)
_COURTS = {
    "de": "LG-Berlin",
    "fr": "TC-Paris",
    "uk": "EWHC-Comm",
    "nl": "Rb-Amsterdam",
    "pl": "SR-Warszawa",
}
_LANGUAGES = {"de": "deu", "fr": "fra", "uk": "eng", "nl": "nld", "pl": "pol"}
_STAGE_ERRORS = {
    "OCR": (
        "OCR confidence 0.41 below the 0.80 threshold",
        "Unsupported file format: image/heic",
        "PDF is password-protected",
    ),
    "NER": (
        "No company entity found in the text",
        "Entity extraction returned conflicting registration numbers",
    ),
}
_VALIDATION_ERRORS = {
    "company_registration": (
        "Registration number not found in the registry",
        "Share capital missing from the registration",
    ),
    "annual_report": (
        "Total assets differ from liabilities plus equity by 1,204 EUR",
        "Fiscal year end missing from the report",
    ),
    "court_ruling": (
        "Case number format not recognised",
        "Decision date lies before the filing date",
    ),
    "invoice": (
        "Invoice total does not match the line items (difference 12.40 EUR)",
        "Supplier VAT id failed the checksum test",
    ),
}
_TRANSIENT_ERRORS = {
    "OCR": "OCR service timeout after 120s",
    "NER": "NER service returned HTTP 503",
    "VALIDATION": "Registry lookup timed out after 30s",
}


@dataclass(frozen=True)
class _Kind:
    """How one kind of app behaves: its phases, run lengths, volumes and failures."""

    phases: tuple[tuple[str, float], ...]  # (function, share of the run)
    main: int  # the phase whose progress is the run's record progress
    duration: tuple[float, float]  # typical run length, seconds (log-uniform)
    volume: tuple[int, int]  # typical records per run (log-uniform)
    errors: tuple[str, ...]
    fatal: tuple[str, ...]


_KINDS = {
    "scraper": _Kind(
        phases=(
            ("fetch_listing", 0.3),
            ("fetch_details", 0.4),
            ("process_records", 0.2),
            ("store_results", 0.1),
        ),
        main=2,
        duration=(240, 2400),
        volume=(400, 12_000),
        errors=(
            "TimeoutError: no response from {host} after 3 retries (30s each)",
            "HTTPError: 503 Service Unavailable for {url}/search?page={page}",
            "ParserError: element 'table#results' not found on page {page}",
            "ProxyError: proxy pool exhausted (0/50 healthy proxies)",
            "HTTPError: 429 Too Many Requests from {host}; retry budget exhausted",
        ),
        fatal=(
            "Login wall: {url}/search now redirects to /login (HTTP 302)",
            "Site layout changed: selector 'table#results' matches nothing on the listing page",
            "Source API retired: GET {url}/v1/search returns 410 Gone",
        ),
    ),
    "etl": _Kind(
        phases=(("extract_source", 0.3), ("process_records", 0.5), ("store_results", 0.2)),
        main=1,
        duration=(45, 1500),
        volume=(2_000, 150_000),
        errors=(
            "OperationalError: could not connect to server warehouse-db:5432 (connection refused)",
            'IntegrityError: duplicate key value violates unique constraint "{stem}_pkey"',
            "ValidationError: {pct}% of rows failed the schema checks (threshold 5%)",
            "MemoryError: batch of {batch} rows exceeded the worker's 4 GiB limit",
        ),
        fatal=(
            "Source table {source} no longer exists (relation does not exist)",
            "Role dc_loader lost the INSERT privilege on {table}",
        ),
    ),
    "doc": _Kind(
        phases=(
            ("fetch_documents", 0.1),
            ("parse_documents", 0.55),
            ("extract_entities", 0.25),
            ("store_results", 0.1),
        ),
        main=1,
        duration=(300, 1500),
        volume=(2, 10),
        errors=(
            "OCRError: tesseract exited with code 137 (out of memory) on {ref}",
            "TimeoutError: NER service did not answer within 120s",
            "StorageError: upload of {ref} to s3://dc-documents failed: SlowDown",
        ),
        fatal=("OCR model {lang}.traineddata missing on {agent}; reinstall the language pack",),
    ),
    "monitor": _Kind(
        phases=(("check_sources", 0.7), ("evaluate_thresholds", 0.3)),
        main=0,
        duration=(4, 90),
        volume=(10, 150),
        errors=(
            "ConnectionError: metrics endpoint http://{agent}:9100/metrics unreachable",
            "QueryTimeout: freshness query exceeded 60s",
        ),
        fatal=("Metrics endpoint returns 404 after the agent upgrade; check the exporter path",),
    ),
}


@dataclass(frozen=True)
class _Spec:
    """One entry of the base catalogue."""

    group: str
    parent: str
    app: str
    schedule: str | None
    timezone: str
    description: str
    country: str | None = None

    @property
    def kind(self) -> str:
        return self.app.split("_", 1)[0]

    @property
    def app_id(self) -> str:
        return f"{self.app}_{self.country}" if self.country else self.app


@functools.cache
def _catalogue() -> tuple[_Spec, ...]:
    """The base apps, interleaved across groups so any prefix mixes every group."""
    groups: dict[str, list[_Spec]] = {}
    for code, name, tz in _COUNTRIES:
        groups[code] = [
            _Spec(code, parent, app, schedule, tz, _DESCRIPTIONS[app].format(country=name), code)
            for parent, app, schedule in _table(_COUNTRY_APPS)
        ]
    for group, parent, app, schedule, tz in _table(_FUNCTIONAL_APPS):
        cron = None if schedule == "-" else schedule
        spec = _Spec(group, parent, app, cron, tz, _DESCRIPTIONS[app])
        groups.setdefault(group, []).append(spec)
    lists = list(groups.values())
    ordered: list[_Spec] = []
    for i in range(max(len(specs) for specs in lists)):
        ordered.extend(specs[i] for specs in lists if i < len(specs))
    return tuple(ordered)


# --------------------------------------------------------------------------- time helpers


def _seed_time(now: dt.datetime | None) -> dt.datetime:
    return (naive_utc(now) or utcnow()).replace(microsecond=0)


def _at(base: dt.datetime, seconds: float) -> dt.datetime:
    """``base`` plus ``seconds``, to the millisecond."""
    return base + dt.timedelta(milliseconds=round(seconds * 1000))


def _secs(later: dt.datetime, earlier: dt.datetime) -> float:
    return (later - earlier).total_seconds()


def _fires(schedule: str, tz: str, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """The cron's fire times in (start, end), as naive UTC."""
    zone = ZoneInfo(tz)
    it = croniter(schedule, start.replace(tzinfo=dt.UTC).astimezone(zone))
    out: list[dt.datetime] = []
    while True:
        fire = it.get_next(dt.datetime).astimezone(dt.UTC).replace(tzinfo=None)
        if fire >= end:
            return out
        if not out or fire > out[-1]:  # a DST change can repeat a local time
            out.append(fire)


@functools.cache
def _next_run(schedule: str, tz: str, now: dt.datetime) -> dt.datetime:
    it = croniter(schedule, now.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(tz)))
    return it.get_next(dt.datetime).astimezone(dt.UTC).replace(tzinfo=None)


@functools.cache
def _runs_per_day(schedule: str, tz: str) -> float:
    start = dt.datetime(2024, 1, 1)
    return len(_fires(schedule, tz, start, start + dt.timedelta(days=7))) / 7


def _log_uniform(rng: random.Random, low: float, high: float) -> float:
    return low * (high / low) ** rng.random()


# --------------------------------------------------------------------------- apps


@dataclass
class _Plan:
    """One app: its row plus what the simulation needs to know about it."""

    spec: _Spec
    row: dict[str, Any]
    host: str
    flakiness: float
    typical_seconds: float
    volume: int
    ctx: dict[str, Any]
    doc_types: tuple[str, ...] = ()
    state: str = "idle"  # idle | running | fatal | disabled | service
    fatal_cause: str | None = None

    @property
    def kind(self) -> str:
        return self.spec.kind

    @property
    def app_id(self) -> str:
        return self.row["id"]


def _doc_types(app: str) -> tuple[str, ...]:
    for word, types in (
        ("invoice", ("invoice",)),
        ("annual_report", ("annual_report",)),
        ("court", ("court_ruling",)),
        ("registration", ("company_registration",)),
    ):
        if word in app:
            return types
    return DOCUMENT_TYPES


def _settings(rng: random.Random, spec: _Spec, plan_ctx: dict[str, Any]) -> dict[str, Any]:
    """The app's settings (no secrets) and the values its messages quote."""
    kind = spec.kind
    stem = spec.app.split("_", 1)[1]
    country = spec.country or rng.choice(_COUNTRIES)[0]
    host = f"{spec.parent.replace('_', '-')}.{country}.example.com"
    url = f"https://{host}"
    source = f"{country}_raw.{spec.parent}" if spec.country else f"staging.{stem}"
    table = f"warehouse.{stem}_{spec.country}" if spec.country else f"warehouse.{stem}"
    plan_ctx.update(
        host=host,
        url=url,
        source=source,
        table=table,
        stem=stem,
        country=country,
        lang=_LANGUAGES[country],
    )
    if kind == "scraper":
        plan_ctx["table"] = f"raw.{country}_{spec.parent}"
        return {
            "base_url": url,
            "batch_size": rng.choice((250, 500, 1000)),
            "page_size": rng.choice((25, 50, 100)),
            "concurrency": rng.choice((2, 4, 8)),
            "retries": 3,
            "timeout_seconds": 30,
        }
    if kind == "etl":
        return {
            "source": source,
            "target_table": table,
            "batch_size": rng.choice((2000, 5000, 10_000)),
            "retries": 2,
        }
    if kind == "doc":
        return {
            "document_types": list(_doc_types(spec.app)),
            "inbox": f"s3://dc-inbox/{stem}/",
            "ocr_engine": "tesseract-5",
            "languages": [_LANGUAGES[country], "eng"],
            "min_confidence": 0.8,
            "batch_size": 50,
            "retries": 3,
        }
    if kind == "monitor":
        return {
            "targets": rng.randint(10, 150),
            "stale_after_hours": rng.choice((2, 6, 24)),
            "alert_channel": "#data-alerts",
            "retries": 1,
        }
    return {
        "workers": rng.choice((2, 4, 8)),
        "queue": f"dc.{stem}",
        "heartbeat_seconds": 15,
        "max_in_flight": rng.choice((16, 32, 64)),
    }


def _new_plan(rng: random.Random, spec: _Spec, copy: int, now: dt.datetime) -> _Plan:
    suffix = f"_{copy + 1}" if copy else ""
    is_service = spec.schedule is None
    ctx: dict[str, Any] = {}
    settings = _settings(rng, spec, ctx)
    created = now - dt.timedelta(seconds=rng.randint(30 * 86_400, 540 * 86_400))
    row: dict[str, Any] = {
        "id": spec.app_id + suffix,
        "group": spec.group,
        "parent": spec.parent,
        "app": spec.app + suffix,
        "description": spec.description,
        "settings": settings,
        "schedule": spec.schedule,
        "timezone": spec.timezone,
        "next_run": None if is_service else _next_run(spec.schedule, spec.timezone, now),
        "run_status": RunStatus.RUNNING if is_service else RunStatus.IDLE,
        "command_flag": CommandFlag.NONE,
        "command_updated": None,
        "fatal_flag": FatalFlag.NO_FATAL,
        "fatal_reason": None,
        "consecutive_failures": 0,
        "disabled": False,
        "is_service": is_service,
        "progress_current": None,
        "progress_total": None,
        "progress_updated": None,
        "current_runtime": None,
        "last_runtime": None,
        "version": 1,
        "created": created,
        "updated": created,
    }
    kind = _KINDS.get(spec.kind)
    host = rng.choice(AGENTS)
    ctx["agent"] = host
    flaky = rng.random() < 0.12
    return _Plan(
        spec=spec,
        row=row,
        host=host,
        flakiness=rng.uniform(0.12, 0.22) if flaky else rng.uniform(0.01, 0.06),
        typical_seconds=_log_uniform(rng, *kind.duration) if kind else 0.0,
        volume=round(_log_uniform(rng, *kind.volume)) if kind else 0,
        ctx=ctx,
        doc_types=_doc_types(spec.app) if spec.group == "documents" else (),
        state="service" if is_service else "idle",
    )


def _assign_states(rng: random.Random, plans: list[_Plan], now: dt.datetime) -> None:
    """Pick the FATAL, disabled, RUNNING and commanded apps among the scheduled ones."""
    scheduled = [p for p in plans if p.state != "service"]
    n = len(scheduled)
    n_fatal = round(n * 0.045) or (1 if n >= 4 else 0)
    n_disabled = round(n * 0.06) or (1 if n >= 6 else 0)
    n_running = round(n * 0.09) or (1 if n >= 2 else 0)
    n_start = round(n * 0.015) or (1 if n >= 8 else 0)
    n_stop = round(n * 0.015) or (1 if n >= 8 else 0)

    order = scheduled[:]
    rng.shuffle(order)
    fatal = [p for p in order if _runs_per_day(p.spec.schedule, p.spec.timezone) >= 4][:n_fatal]
    taken = {p.app_id for p in fatal}
    rest = [p for p in order if p.app_id not in taken]
    disabled = rest[:n_disabled]
    rest = rest[n_disabled:]
    # live progress reads best on long runs: take scrapers, ETL and document pipelines in turn
    by_kind = [[p for p in rest if p.kind == kind] for kind in ("scraper", "etl", "doc")]
    turns = [p for group in itertools.zip_longest(*by_kind) for p in group if p is not None]
    running = [*turns, *(p for p in rest if p.kind == "monitor")][:n_running]
    chosen = {p.app_id for p in running}
    idle = [p for p in rest if p.app_id not in chosen]
    rng.shuffle(idle)

    for plan in fatal:
        kind = _KINDS[plan.kind]
        k = rng.randint(3, 6)
        plan.state = "fatal"
        plan.fatal_cause = rng.choice(kind.fatal).format(**plan.ctx)
        plan.row.update(
            run_status=RunStatus.FAILED,
            fatal_flag=FatalFlag.FATAL,
            consecutive_failures=k,
            fatal_reason=f"{k} consecutive failures; last error: {plan.fatal_cause}",
            next_run=None,
        )
    for plan in disabled:
        plan.state = "disabled"
        plan.row.update(disabled=True, next_run=None)
    for i, plan in enumerate(running):
        plan.state = "running"
        total = max(20, round(plan.volume * rng.uniform(0.7, 1.3)))
        if plan.kind == "doc":
            total = rng.randint(6, 10)
        plan.row.update(
            run_status=RunStatus.RUNNING,
            progress_total=total,
            progress_current=max(1, min(total - 1, round(total * rng.uniform(0.15, 0.85)))),
            progress_updated=now - dt.timedelta(seconds=rng.randint(1, 20)),
        )
        if i < n_stop:
            plan.row.update(
                command_flag=CommandFlag.STOP,
                command_updated=now - dt.timedelta(seconds=rng.randint(2, 40)),
            )
    for plan in idle[:n_start]:
        plan.row.update(
            command_flag=CommandFlag.START,
            command_updated=now - dt.timedelta(seconds=rng.randint(5, 120)),
        )


def _plan_apps(rng: random.Random, count: int, now: dt.datetime) -> list[_Plan]:
    specs = _catalogue()
    plans = [_new_plan(rng, specs[i % len(specs)], i // len(specs), now) for i in range(count)]
    _assign_states(rng, plans, now)
    return plans


def make_apps(count: int, *, seed: int = 42, now: dt.datetime | None = None) -> list[dict]:
    """Only the Apps rows (dicts of field name → value), for benchmarks needing many apps."""
    if count < 0:
        raise InvalidInput("count must not be negative", field="count")
    return [plan.row for plan in _plan_apps(random.Random(seed), count, _seed_time(now))]


# --------------------------------------------------------------------------- simulation


@dataclass
class _Run:
    """One runtime being generated; offsets are seconds after ``start``."""

    id: str
    start: dt.datetime
    cutoff: dt.datetime  # when it ended, or its last progress report while running
    status: RuntimeStatus
    trigger: str
    host: str
    planned: float = 0.0  # how long it would have taken to finish
    error: str | None = None
    fatal_note: str | None = None
    total: int = 0
    solved: int = 0
    failed: int = 0

    @property
    def ended(self) -> dt.datetime | None:
        return None if self.status is RuntimeStatus.RUNNING else self.cutoff

    @property
    def length(self) -> float:
        return _secs(self.cutoff, self.start)


@dataclass
class _Simulator:
    rng: random.Random
    now: dt.datetime
    start: dt.datetime
    runtimes: list[dict[str, Any]] = field(default_factory=list)
    logs: list[dict[str, Any]] = field(default_factory=list)
    function_logs: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)

    # ---- per app

    def simulate(self, plan: _Plan) -> None:
        """Generate the app's history and point its row at it."""
        runs = self._service(plan) if plan.state == "service" else self._scheduled(plan)
        row = plan.row
        finished = [r for r in runs if r.status is not RuntimeStatus.RUNNING]
        live = [r for r in runs if r.status is RuntimeStatus.RUNNING]
        streak = 0
        for run in reversed(finished):
            if run.status is not RuntimeStatus.FAILED:
                break
            streak += 1
        row["consecutive_failures"] = streak
        if plan.state == "fatal" and finished:
            row["fatal_reason"] = f"{streak} consecutive failures; last error: {plan.fatal_cause}"
        if finished:
            row["last_runtime"] = finished[-1].id
        if live:
            row["current_runtime"] = live[-1].id
        if plan.kind == "doc" and live:
            row["progress_total"] = live[-1].total
            row["progress_current"] = live[-1].solved + live[-1].failed
        row["created"] = min(row["created"], self.start - dt.timedelta(days=1))
        moments = [row["created"], row["updated"], row["command_updated"], row["progress_updated"]]
        moments += [r.ended for r in finished] + [r.start for r in live]
        row["updated"] = max(m for m in moments if m is not None)

    def _scheduled(self, plan: _Plan) -> list[_Run]:
        rng, row = self.rng, plan.row
        fires = _fires(row["schedule"], row["timezone"], self.start, self.now)
        limit = self.now - dt.timedelta(seconds=5)
        live: _Run | None = None
        if plan.state == "disabled":
            limit = self.now - (self.now - self.start) * rng.uniform(0.1, 0.6)
            limit = row["updated"] = limit.replace(microsecond=0)  # when it was disabled
        elif plan.state == "running":
            live = self._live_run(plan, fires)
            limit = live.start
        bounds = [min(b, limit) for b in [*fires[1:], limit]]
        # a fire too close to the next one (or to now) has no room for a run
        keep = [i for i, fire in enumerate(fires) if _secs(bounds[i], fire) >= 30]
        fires, bounds = [fires[i] for i in keep], [bounds[i] for i in keep]

        streak = 0
        if plan.state == "fatal" and fires:
            streak = min(plan.row["consecutive_failures"], len(fires))
            low, high = max(streak - 1, int(len(fires) * 0.55)), len(fires) - 1
            last = rng.randint(min(low, high), high)
            fires, bounds = fires[: last + 1], bounds[: last + 1]

        runs: list[_Run] = []
        failures = 0
        for i, fire in enumerate(fires):
            start = fire + dt.timedelta(seconds=rng.randint(0, 12))
            error = None
            if i >= len(fires) - streak:
                status, error = RuntimeStatus.FAILED, plan.fatal_cause
            elif plan.state == "fatal" and i == len(fires) - streak - 1:
                status = RuntimeStatus.COMPLETED
            else:
                draw = rng.random()
                status = (
                    RuntimeStatus.FAILED
                    if draw < plan.flakiness and failures < 2
                    else RuntimeStatus.STOPPED
                    if draw < plan.flakiness + 0.015
                    else RuntimeStatus.COMPLETED
                )
            if plan.state == "disabled" and i == len(fires) - 1 and rng.random() < 0.5:
                status = RuntimeStatus.STOPPED
            run = self._finished_run(plan, start, bounds[i], status, "schedule", error)
            if run is None:
                continue
            if streak and i == len(fires) - 1:
                run.fatal_note = (
                    f"{plan.app_id} set FATAL after {streak} consecutive failures: "
                    f"{plan.fatal_cause}"
                )
            runs.append(self._emit(plan, run))
            failures = failures + 1 if status is RuntimeStatus.FAILED else 0
            if failures and i < len(fires) - streak and rng.random() < 0.35:
                # an operator retries the failed run by hand before the next schedule
                retry_at = run.cutoff.replace(microsecond=0) + dt.timedelta(
                    seconds=rng.randint(120, 1800)
                )
                retry = self._finished_run(
                    plan, retry_at, bounds[i], RuntimeStatus.COMPLETED, "command"
                )
                if retry is not None:
                    runs.append(self._emit(plan, retry))
                    failures = 0
        if live is not None:
            runs.append(self._emit(plan, live))
        return runs

    def _live_run(self, plan: _Plan, fires: list[dt.datetime]) -> _Run:
        """The run in progress now, started by the last schedule or by a command."""
        rng, row = self.rng, plan.row
        last = fires[-1] if fires else None
        longest = max(900.0, min(7200.0, 6 * plan.typical_seconds))
        if last is not None and 90 <= _secs(self.now, last) <= longest:
            start, trigger = last + dt.timedelta(seconds=rng.randint(0, 12)), "schedule"
        else:
            ago = max(90, round(plan.typical_seconds * rng.uniform(0.2, 0.8)))
            start, trigger = self.now - dt.timedelta(seconds=ago), "command"
        return _Run(
            id=f"{start:%Y%m%d_%H%M%S}_{plan.app_id}",
            start=start,
            cutoff=row["progress_updated"],
            status=RuntimeStatus.RUNNING,
            trigger=trigger,
            host=plan.host,
            total=row["progress_total"],
            solved=row["progress_current"],
        )

    def _finished_run(
        self,
        plan: _Plan,
        start: dt.datetime,
        bound: dt.datetime,
        status: RuntimeStatus,
        trigger: str,
        error: str | None = None,
    ) -> _Run | None:
        """A run from ``start`` that ends before ``bound``, or None when it cannot fit."""
        rng = self.rng
        room = _secs(bound, start)
        if room < 5:
            return None
        planned = plan.typical_seconds * rng.uniform(0.6, 1.5)
        if planned > room * 0.9:
            planned = room * rng.uniform(0.5, 0.9)
        length = planned
        if status is RuntimeStatus.FAILED:  # most failures hit while records are processed
            length = max(1.0, planned * rng.uniform(0.3, 0.98))
        elif status is RuntimeStatus.STOPPED:
            length = max(1.0, planned * rng.uniform(0.1, 0.9))
        if status is RuntimeStatus.FAILED and error is None:
            error = self._error(plan)
        host = plan.host if rng.random() > 0.1 else rng.choice(AGENTS)
        return _Run(
            id=f"{start:%Y%m%d_%H%M%S}_{plan.app_id}",
            start=start,
            cutoff=_at(start, length),
            status=status,
            trigger=trigger,
            host=host,
            planned=planned,
            error=error,
        )

    def _error(self, plan: _Plan) -> str:
        rng = self.rng
        values = {
            **plan.ctx,
            "page": rng.randint(2, 80),
            "pct": round(rng.uniform(5.2, 14.0), 1),
            "batch": rng.choice((50_000, 100_000, 200_000)),
            "ref": _document_ref(rng, plan, rng.choice(plan.doc_types or DOCUMENT_TYPES)),
        }
        return rng.choice(_KINDS[plan.kind].errors).format(**values)

    # ---- one scheduled run: counts, logs, function logs and document tasks

    def _phases(self, kind: _Kind, run: _Run) -> list[tuple[str, float, float]]:
        """(function, start, length) of each phase, in seconds after the run's start."""
        rng, cut = self.rng, run.length
        weights = [share * rng.uniform(0.7, 1.3) for _, share in kind.phases]
        weights = [w / sum(weights) for w in weights]
        setup = min(2.0, cut * 0.02)
        if run.status is RuntimeStatus.COMPLETED:
            run.planned = cut
        elif run.status is RuntimeStatus.RUNNING:
            # the last progress report falls inside the main phase, at the reported share
            reached = sum(weights[: kind.main]) + weights[kind.main] * run.solved / run.total
            run.planned = setup + (cut - setup) / reached
        windows: list[tuple[str, float, float]] = []
        offset, span = setup, run.planned - setup
        for (name, _), weight in zip(kind.phases, weights, strict=True):
            windows.append((name, offset, span * weight))
            offset += span * weight
        return windows

    def _emit(self, plan: _Plan, run: _Run) -> _Run:
        """Counts, log lines, function timings (and documents) of one scheduled run."""
        rng, kind, cut = self.rng, _KINDS[plan.kind], run.length
        windows = self._phases(kind, run)
        refs: list[tuple[str, str]] = []
        if plan.kind == "doc":
            refs = self._run_tasks(plan, run, windows[1][1], windows[2][1] + windows[2][2])
            total, failed = run.total, run.failed
        else:
            _, main_start, main_length = windows[kind.main]
            if run.status is RuntimeStatus.RUNNING:
                done = run.solved
            else:
                run.total = max(1, round(plan.volume * rng.uniform(0.7, 1.3)))
                progress = (cut - main_start) / main_length
                if run.status is RuntimeStatus.COMPLETED:
                    progress = 1.0
                done = round(run.total * min(1.0, max(0.0, progress)))
            if run.status is RuntimeStatus.FAILED:
                rate = rng.uniform(0.02, 0.2)
            else:
                rate = 0.0 if rng.random() < 0.35 else rng.uniform(0, 0.02)
            run.failed = round(done * rate)
            run.solved = done - run.failed
            total, failed = run.total, round(run.total * rate)
        self._runtime_row(plan, run)

        module = f"collectors.{plan.spec.group}.{plan.spec.app}"

        def log(at: float, level: int, where: str, function: str, message: str) -> None:
            self._log(plan, run, at, level, where, function, message)

        log(0.0, INFO, RUNNER, "run", f"Starting {plan.app_id} on {run.host} ({run.trigger})")
        settings = plan.row["settings"]
        shown = ", ".join(f"{k}={settings[k]}" for k in ("batch_size", "retries") if k in settings)
        if rng.random() < 0.3:
            log(min(0.05, cut / 2), DEBUG, RUNNER, "load_settings", f"Settings: {shown}")
        # a failing or stopped run logs nothing more once its last lines are written
        last = cut if run.status is RuntimeStatus.COMPLETED else cut - 0.5
        body = _BODIES[plan.kind](rng, plan, total, failed, refs)
        for (name, begin, length), lines in zip(windows, body, strict=True):
            times = _spread(rng, begin, length, len(lines))
            for at, (level, message) in zip(times, lines, strict=True):
                if at < last:
                    log(at, level, module, name, message)
            self._function_log(plan, run, module, name, begin, length, total, failed)

        took = duration_text(cut)
        current = next((w[0] for w in windows if w[1] + w[2] > cut), windows[-1][0])
        if run.status is RuntimeStatus.COMPLETED:
            counts = f"{run.total} records ({run.solved} solved, {run.failed} failed)"
            log(cut, INFO, RUNNER, "run", f"Run completed in {took}: {counts}")
        elif run.status is RuntimeStatus.FAILED:
            error = run.error or "RuntimeError: unknown"
            log(max(0.1, cut - 0.2), ERROR, module, current, error)
            log(cut, ERROR, RUNNER, "run", f"Run failed after {took}: {error.split(':')[0]}")
            if run.fatal_note:
                log(cut, CRITICAL, RUNNER, "run", run.fatal_note)
        elif run.status is RuntimeStatus.STOPPED:
            request = "Stop requested by operator; finishing the current batch"
            log(max(0.1, cut - rng.uniform(1, 5)), WARNING, RUNNER, "handle_command", request)
            log(cut, INFO, RUNNER, "run", f"Run stopped after {took}: {run.solved} records saved")
        else:
            done = run.solved + run.failed
            percent = 100 * done // max(1, run.total)
            log(cut, INFO, module, current, f"Progress {done}/{run.total} ({percent}%)")
        return run

    def _log(
        self,
        plan: _Plan,
        run: _Run,
        at: float,
        level: int,
        module: str,
        function: str,
        message: str,
    ) -> None:
        """One log line ``at`` seconds into the run, never after its end or last report."""
        self.logs.append(
            {
                "app": plan.app_id,
                "runtime": run.id,
                "level": level,
                "module": module,
                "function": function,
                "message": message,
                "timestamp": min(_at(run.start, max(0.0, at)), run.cutoff),
            }
        )

    def _runtime_row(self, plan: _Plan, run: _Run) -> None:
        self.runtimes.append(
            {
                "id": run.id,
                "app": plan.app_id,
                "started": run.start,
                "ended": run.ended,
                "status": run.status,
                "trigger": run.trigger,
                "records_total": run.total,
                "records_solved": run.solved,
                "records_failed": run.failed,
                "error": run.error,
                "host": run.host,
                "heartbeat": run.cutoff,
            }
        )

    def _function_log(
        self,
        plan: _Plan,
        run: _Run,
        module: str,
        name: str,
        begin: float,
        length: float,
        total: int,
        failed: int,
    ) -> None:
        """One timed call, if the phase finished (or was cut short by a failure or stop)."""
        rng, cut = self.rng, run.length
        if begin >= cut:
            return
        share = 1.0
        if begin + length > cut + 1e-6:
            if run.status is RuntimeStatus.RUNNING:
                return  # still in progress: not timed yet
            share = (cut - begin) / length
            length = cut - begin
        settings = plan.row["settings"]
        if name == "fetch_listing":
            task = max(1, math.ceil(total / settings.get("page_size", 50)))
            bad = 1 if task > 3 and rng.random() < 0.1 else 0
        elif name in ("process_records", "parse_documents", "check_sources"):
            task, bad = total, failed
        elif name == "store_results":
            task, bad = total - failed, 0
        elif name in ("fetch_details", "evaluate_thresholds"):
            task = total
            bad = min(task, round(task * rng.uniform(0, 0.01)))
        else:
            task, bad = total, 0
        done = round(task * share)
        bad = min(bad, done)
        self.function_logs.append(
            {
                "app": plan.app_id,
                "runtime": run.id,
                "function_name": name,
                "module": module,
                "started": _at(run.start, begin),
                "runtime_seconds": round(max(0.001, length), 3),
                "task_size": task,
                "solved": done - bad,
                "failed": bad,
            }
        )

    # ---- document tasks

    def _run_tasks(
        self, plan: _Plan, run: _Run, first: float, last: float
    ) -> list[tuple[str, str]]:
        """The documents a pipeline run works through; fills in the run's counts."""
        rng = self.rng
        count = run.total if run.status is RuntimeStatus.RUNNING else rng.randint(2, 10)
        slot = (last - first) / count
        fail_rate = 0.1 if run.status is RuntimeStatus.FAILED else 0.05
        refs: list[tuple[str, str]] = []
        solved = failed = 0
        for j in range(count):
            begin = first + j * slot + rng.uniform(0, 0.1) * slot
            created = max(self.start, _at(run.start, -rng.uniform(0, 1800)))
            task = self._task(plan, run, created, begin, slot * 0.85, fail_rate)
            if task is None:
                continue
            refs.append((task["document_type"], task["document_ref"]))
            solved += task["status"] is PipelineStatus.COMPLETED
            failed += task["status"] is PipelineStatus.FAILED
        waiting = rng.randint(0, 2) if run.status is RuntimeStatus.RUNNING else 0
        for _ in range(waiting):
            self._live_task(plan, run, PipelineStatus.RETRYING)
        run.total, run.solved, run.failed = count + waiting, solved, failed
        return refs

    def _task(
        self,
        plan: _Plan,
        run: _Run,
        created: dt.datetime,
        begin: float,
        budget: float,
        fail_rate: float,
    ) -> dict[str, Any] | None:
        """One document processed from ``begin`` (seconds into the run) within ``budget``."""
        rng, cut = self.rng, run.length
        doc_type = rng.choice(plan.doc_types or DOCUMENT_TYPES)
        durations = _stage_durations(rng, doc_type)
        total = sum(durations.values())
        if total > budget:
            durations = {stage: round(s * budget / total, 3) for stage, s in durations.items()}
        task: dict[str, Any] = {
            "app": plan.app_id,
            "runtime": run.id,
            "document_type": doc_type,
            "document_ref": _document_ref(rng, plan, doc_type),
            "stage": "RECEIVED",
            "status": PipelineStatus.PENDING,
            "retries": 0,
            "error": None,
            "error_stage": None,
            "stage_durations": {},
            "duration_seconds": None,
            "created": created,
            "started": None,
            "ended": None,
            "updated": created,
        }
        live = run.status is RuntimeStatus.RUNNING
        if begin >= cut:
            if not live:
                return None  # still in the inbox for the next run
            self.tasks.append(task)
            return task
        started = _at(run.start, begin)
        task["started"] = started
        fails_at = None
        if rng.random() < fail_rate:
            fails_at = rng.choices(("OCR", "NER", "VALIDATION"), weights=(5, 2, 4))[0]
        spent, done = 0.0, {}
        for stage, seconds in durations.items():
            if begin + spent + seconds > cut:  # interrupted inside this stage
                task.update(stage=stage, stage_durations=done, updated=run.cutoff)
                if live:
                    if stage != "RECEIVED" and rng.random() < 0.3:
                        task.update(
                            status=PipelineStatus.RETRYING,
                            retries=rng.randint(1, 3),
                            error=_TRANSIENT_ERRORS.get(stage, "Transient storage error"),
                            error_stage=stage,
                        )
                    else:
                        task["status"] = PipelineStatus.PROCESSING
                elif run.status is RuntimeStatus.FAILED:
                    task.update(
                        status=PipelineStatus.FAILED,
                        error=f"Interrupted by the run's failure: {run.error}",
                        error_stage=stage,
                        ended=run.cutoff,
                        duration_seconds=round(cut - begin, 3),
                    )
                else:  # stopped: handed back to the queue
                    task.update(stage="RECEIVED", stage_durations={}, started=None)
                self.tasks.append(task)
                return task
            done = {**done, stage: seconds}
            spent += seconds
            if stage == fails_at:
                break
        ended = _at(started, spent)
        task.update(
            stage_durations=done, duration_seconds=round(spent, 3), ended=ended, updated=ended
        )
        if fails_at is not None:
            task.update(
                stage=fails_at,
                status=PipelineStatus.FAILED,
                error=rng.choice(
                    _VALIDATION_ERRORS[doc_type]
                    if fails_at == "VALIDATION"
                    else _STAGE_ERRORS[fails_at]
                ),
                error_stage=fails_at,
            )
        else:
            task.update(stage="STORED", status=PipelineStatus.COMPLETED)
            if rng.random() < 0.06:
                task["retries"] = 1
        self.tasks.append(task)
        return task

    def _live_task(self, plan: _Plan, run: _Run, status: PipelineStatus) -> None:
        """A document in a worker's hands now, or waiting to retry after a transient error."""
        rng = self.rng
        doc_type = rng.choice(plan.doc_types or DOCUMENT_TYPES)
        stage = rng.choice(("OCR", "NER", "VALIDATION"))
        durations = _stage_durations(rng, doc_type)
        done = {s: durations[s] for s in STAGES[: STAGES.index(stage)]}
        if status is PipelineStatus.RETRYING:
            offset = run.length * rng.uniform(0.05, 0.8)
        else:  # entered its current stage a few seconds ago
            offset = run.length - sum(done.values()) - rng.uniform(1, 30)
        started = _at(run.start, max(1.0, offset))
        retrying = status is PipelineStatus.RETRYING
        self.tasks.append(
            {
                "app": plan.app_id,
                "runtime": run.id,
                "document_type": doc_type,
                "document_ref": _document_ref(rng, plan, doc_type),
                "stage": stage,
                "status": status,
                "retries": rng.randint(1, 3) if retrying else 0,
                "error": _TRANSIENT_ERRORS[stage] if retrying else None,
                "error_stage": stage if retrying else None,
                "stage_durations": done,
                "duration_seconds": None,
                "created": max(self.start, _at(started, -rng.uniform(1, 600))),
                "started": started,
                "ended": None,
                "updated": run.cutoff,
            }
        )

    # ---- services

    def _service(self, plan: _Plan) -> list[_Run]:
        """A long-running service: a restart or two over the period, running now."""
        rng = self.rng
        first = self.start + dt.timedelta(seconds=rng.randint(60, 7200))
        latest = self.now - dt.timedelta(hours=1)
        restarts = rng.choice((0, 1, 1, 2))
        earliest = first + dt.timedelta(hours=6)
        cuts: list[dt.datetime] = []
        if latest > earliest:
            cuts = sorted(earliest + (latest - earliest) * rng.random() for _ in range(restarts))
            cuts = [c.replace(microsecond=0) for c in cuts]
        runs: list[_Run] = []
        begin = first
        for stop in cuts:
            crashed = rng.random() < 0.3
            run = _Run(
                id=f"{begin:%Y%m%d_%H%M%S}_{plan.app_id}",
                start=begin,
                cutoff=stop,
                status=RuntimeStatus.FAILED if crashed else RuntimeStatus.STOPPED,
                trigger="command",
                host=plan.host,
                error=(
                    rng.choice(
                        (
                            "AMQPConnectionError: connection to rabbitmq:5672 lost",
                            "MemoryError: worker exceeded its 2 GiB limit",
                            "RedisError: Connection closed by server",
                        )
                    )
                    if crashed
                    else None
                ),
            )
            runs.append(self._emit_service(plan, run))
            begin = stop + dt.timedelta(seconds=rng.randint(5, 40))
        live = _Run(
            id=f"{begin:%Y%m%d_%H%M%S}_{plan.app_id}",
            start=begin,
            cutoff=self.now - dt.timedelta(seconds=rng.randint(1, 20)),
            status=RuntimeStatus.RUNNING,
            trigger="command",
            host=plan.host,
        )
        runs.append(self._emit_service(plan, live))
        return runs

    def _emit_service(self, plan: _Plan, run: _Run) -> _Run:
        """Periodic throughput lines and timings of one service run."""
        rng, cut = self.rng, run.length
        function, unit, per_minute = _SERVICES.get(plan.spec.app, ("serve", "requests", 10.0))
        module = f"services.{plan.spec.app.removeprefix('service_')}"
        settings = plan.row["settings"]

        def log(at: float, level: int, where: str, name: str, message: str) -> None:
            if 0 <= at <= cut:
                self._log(plan, run, at, level, where, name, message)

        log(0.0, INFO, RUNNER, "run", f"Starting {plan.app_id} on {run.host} ({run.trigger})")
        ready = f"Ready: {settings['workers']} workers consuming {settings['queue']}"
        log(0.4, INFO, module, "serve", ready)
        log(0.6, DEBUG, module, "serve", "Connected to broker amqp://rabbitmq:5672/")
        first_task = len(self.tasks)
        ended_at = self._service_tasks(plan, run) if plan.doc_types else []
        tick, previous = rng.uniform(600, 3600), 1.0
        total = failed = 0
        while tick < cut:
            minutes = (tick - previous) / 60
            if plan.doc_types:
                handled, bad = sum(1 for t in ended_at if previous <= t < tick), 0
            else:
                handled = max(0, round(per_minute * minutes * rng.uniform(0.6, 1.4)))
                bad = round(handled * rng.uniform(0, 0.01))
            total, failed = total + handled, failed + bad
            p95 = rng.randint(40, 900)
            items = unit.removesuffix("s") if handled == 1 else unit
            summary = f"Handled {handled} {items} in the last {minutes:.0f} min (p95 {p95} ms)"
            log(tick, INFO, module, function, summary)
            if rng.random() < 0.3:
                rss, flight = rng.randint(180, 1400), rng.randint(0, 32)
                beat = f"Heartbeat ok (rss {rss} MB, {flight} in flight)"
                log(tick + 1, DEBUG, module, "heartbeat", beat)
            if rng.random() < 0.08:
                warning = rng.choice(_SERVICE_WARNINGS)
                warning = warning.format(n=rng.randint(20, 400), w=rng.randint(1, 8))
                log(tick - rng.uniform(60, 600), WARNING, module, function, warning)
            self.function_logs.append(
                {
                    "app": plan.app_id,
                    "runtime": run.id,
                    "function_name": function,
                    "module": module,
                    "started": _at(run.start, previous),
                    "runtime_seconds": round(tick - previous, 3),
                    "task_size": handled,
                    "solved": handled - bad,
                    "failed": bad,
                }
            )
            previous, tick = tick, tick + rng.uniform(2700, 6000)
        if plan.doc_types:
            mine = [t["status"] for t in self.tasks[first_task:]]
            solved, failed = mine.count(PipelineStatus.COMPLETED), mine.count(PipelineStatus.FAILED)
            run.total, run.solved, run.failed = len(mine), solved, failed
        else:
            run.total, run.solved, run.failed = total, total - failed, failed
        took = duration_text(cut)
        if run.status is RuntimeStatus.STOPPED:
            drain = f"Received SIGTERM (deploy); draining {rng.randint(0, 12)} in-flight {unit}"
            log(max(1.0, cut - 2), INFO, module, "serve", drain)
            log(cut, INFO, RUNNER, "run", f"Shutdown complete after {took}")
        elif run.status is RuntimeStatus.FAILED:
            log(max(1.0, cut - 0.5), ERROR, module, function, run.error or "crashed")
            log(cut, ERROR, RUNNER, "run", f"Service exited unexpectedly after {took}; restarting")
        self._runtime_row(plan, run)
        return run

    def _service_tasks(self, plan: _Plan, run: _Run) -> list[float]:
        """Documents a queue worker handles as they arrive; returns when each one ended."""
        rng, cut = self.rng, run.length
        ended: list[float] = []
        at = rng.uniform(60, 1200)
        live = run.status is RuntimeStatus.RUNNING
        while at < cut:
            gap = rng.uniform(600, 2400)
            created = _at(run.start, at - rng.uniform(1, 60))
            task = self._task(plan, run, created, at, min(gap * 0.8, 300.0), 0.05)
            if task is not None and task["ended"] is not None:
                ended.append(_secs(task["ended"], run.start))
            at += gap
        if live:
            for _ in range(rng.randint(2, 4)):  # just arrived, waiting for a worker
                created = _at(run.start, cut - rng.uniform(5, 300))
                self._task(plan, run, created, cut + 1, 60.0, 0.0)
            for _ in range(rng.randint(1, 3)):
                self._live_task(plan, run, PipelineStatus.PROCESSING)
            for _ in range(rng.randint(1, 2)):
                self._live_task(plan, run, PipelineStatus.RETRYING)
        return ended


@functools.cache
def _sources() -> tuple[str, ...]:
    return tuple(spec.app_id for spec in _catalogue() if spec.country)


def _stage_durations(rng: random.Random, doc_type: str) -> dict[str, float]:
    pages = {
        "company_registration": (2, 10),
        "annual_report": (20, 120),
        "court_ruling": (5, 40),
        "invoice": (1, 3),
    }[doc_type]
    return {
        "RECEIVED": round(rng.uniform(0.05, 0.8), 3),
        "OCR": round(rng.randint(*pages) * rng.uniform(0.8, 2.5), 3),
        "NER": round(rng.uniform(0.8, 12), 3),
        "VALIDATION": round(rng.uniform(0.1, 2.5), 3),
        "STORED": round(rng.uniform(0.1, 1.5), 3),
    }


def _document_ref(rng: random.Random, plan: _Plan, doc_type: str) -> str:
    country = plan.ctx.get("country", "de")
    year = plan.row["created"].year + 1
    if doc_type == "company_registration":
        return f"{country.upper()}/HRB-{rng.randint(10_000, 999_999)}/registration.pdf"
    if doc_type == "annual_report":
        return f"{country.upper()}/{rng.randint(1_000_000, 9_999_999)}/annual-report-{year - 1}.pdf"
    if doc_type == "court_ruling":
        return f"{_COURTS.get(country, 'LG-Berlin')}/{rng.randint(1, 999)}-{year}.pdf"
    return f"INV-{year}-{rng.randint(1, 999_999):06d}.pdf"


# --------------------------------------------------------------------------- log bodies

# Each body gives a run's log lines per phase: the last closes the phase, the first opens
# it (when there are two or more) and the others fall in between (see ``_spread``).
_Lines = list[tuple[int, str]]
_Body = Callable[[random.Random, _Plan, int, int, list[tuple[str, str]]], list[_Lines]]


def _spread(rng: random.Random, begin: float, length: float, count: int) -> list[float]:
    """When a phase's lines are written: at its end, at its start and in between."""
    edge = min(0.5, length * 0.01)
    if count == 1:
        return [begin + length - edge]
    middle = sorted(begin + edge + (length - 2 * edge) * rng.random() for _ in range(count - 2))
    return [begin + edge, *middle, begin + length - edge]


def _scraper_body(
    rng: random.Random, plan: _Plan, total: int, failed: int, refs: list[tuple[str, str]]
) -> list[_Lines]:
    ctx, settings = plan.ctx, plan.row["settings"]
    url, host = ctx["url"], ctx["host"]
    pages = max(1, math.ceil(total / settings["page_size"]))
    noun = _NOUNS.get(plan.spec.parent, "records")

    listing: _Lines = [(INFO, f"Fetching listing from {url}/search")]
    if rng.random() < 0.4:
        listing.append((DEBUG, f"GET {url}/search?page=1 -> 200 in {rng.randint(80, 1900)} ms"))
    shown = sorted(rng.sample(range(1, pages + 1), min(2, pages)))
    listing += [(INFO, f"Fetched page {p}/{pages} from {plan.spec.parent}") for p in shown]
    if rng.random() < 0.3:
        page, attempt = rng.randint(1, pages), rng.randint(1, 2)
        listing.insert(
            rng.randint(1, len(listing)),
            (WARNING, f"Timeout after 30s on {url}/search?page={page}, retrying ({attempt}/3)"),
        )
    if rng.random() < 0.1:
        pause = rng.choice((15, 30, 60))
        listing.append((WARNING, f"HTTP 429 Too Many Requests from {host}; backing off {pause}s"))
    listing.append((INFO, f"Listing complete: {pages} pages, {total} {noun}"))

    details: _Lines = [(INFO, f"Fetching {total} {noun} with {settings['concurrency']} workers")]
    if rng.random() < 0.25:
        details.append((DEBUG, f"Session cookie refreshed for {host}"))
    details.append((INFO, f"Fetched {total} {noun}"))

    process: _Lines = []
    if failed and rng.random() < 0.6:
        record, reason = rng.randint(1000, 99_999), rng.choice(_VALIDATION_REASONS)
        process.append((ERROR, f"Validation failed for record {record}: {reason}"))
    if rng.random() < 0.25:
        dupes = rng.randint(0, total // 20 + 1)
        process.append((DEBUG, f"Deduplicated {dupes} records against the previous snapshot"))
    if failed:
        process.append((WARNING, f"{failed} records failed validation"))
    process.append((INFO, f"Parsed {total} records"))

    store: _Lines = [(INFO, f"Stored {total - failed} records in {ctx['table']}")]
    return [listing, details, process, store]


def _etl_body(
    rng: random.Random, plan: _Plan, total: int, failed: int, refs: list[tuple[str, str]]
) -> list[_Lines]:
    ctx, batch = plan.ctx, plan.row["settings"]["batch_size"]
    batches = max(1, math.ceil(total / batch))
    extract: _Lines = [(INFO, f"Extracting from {ctx['source']}")]
    if rng.random() < 0.4:
        extract.append((DEBUG, "Using the incremental cursor on updated_at"))
    extract.append((INFO, f"Extracted {total} rows from {ctx['source']}"))

    process: _Lines = [(INFO, f"Transforming {total} rows in {batches} batches")]
    for b in sorted(rng.sample(range(1, batches + 1), min(2, batches))):
        process.append(
            (DEBUG, f"Transformed batch {b}/{batches} ({min(batch, total - (b - 1) * batch)} rows)")
        )
    if failed:
        column = rng.choice(("postcode", "vat_id", "incorporation_date", "currency"))
        process.append((WARNING, f"Skipped {failed} rows with an invalid {column}"))
    process.append((INFO, f"Transformed {total - failed} rows"))

    store: _Lines = [(INFO, f"Loaded {total - failed} rows into {ctx['table']}")]
    return [extract, process, store]


def _doc_body(
    rng: random.Random, plan: _Plan, total: int, failed: int, refs: list[tuple[str, str]]
) -> list[_Lines]:
    inbox = plan.row["settings"]["inbox"]
    fetch: _Lines = [(INFO, f"Received {total} documents from {inbox}")]
    parse: _Lines = [(INFO, f"Running OCR on {total} documents")]
    for _, ref in refs[:2]:
        confidence, pages = rng.uniform(0.62, 0.99), rng.randint(1, 40)
        parse.append((INFO, f"OCR finished for {ref} ({pages} pages, confidence {confidence:.2f})"))
        if confidence < 0.8:
            page = rng.randint(1, pages)
            parse.append((WARNING, f"Low OCR confidence {confidence:.2f} on {ref}, page {page}"))
    parse.append((INFO, f"OCR done for {total} documents"))
    entities: _Lines = [(INFO, "Extracting entities with ner-multilingual-v4")]
    entities += [
        (DEBUG, f"NER extracted {rng.randint(3, 60)} entities from {ref}") for _, ref in refs[:1]
    ]
    entities.append((INFO, f"Entities extracted from {total} documents"))
    store: _Lines = [(INFO, "Validating and storing documents")]
    if failed and refs:
        store.append((ERROR, f"Validation failed for {refs[-1][1]}: registration number not found"))
    store.append((INFO, f"Stored {total - failed} documents in s3://dc-documents/"))
    return [fetch, parse, entities, store]


def _monitor_body(
    rng: random.Random, plan: _Plan, total: int, failed: int, refs: list[tuple[str, str]]
) -> list[_Lines]:
    settings = plan.row["settings"]
    source = rng.choice(_sources())
    check: _Lines = []
    if rng.random() < 0.3:
        check.append((DEBUG, f"Source {source} fresh (last record {rng.randint(1, 59)} min ago)"))
    if rng.random() < 0.15:
        limit = settings["stale_after_hours"]
        check.append(
            (
                WARNING,
                f"Source {source} stale: last record {limit + rng.randint(1, 6)}h ago "
                f"(threshold {limit}h)",
            )
        )
    check.append((INFO, f"Checked {total} targets"))
    evaluate: _Lines = []
    if failed:
        channel = settings["alert_channel"]
        evaluate.append((WARNING, f"Alert sent to {channel}: {failed} checks failing"))
    evaluate.append((INFO, f"{total - failed}/{total} checks passed"))
    return [check, evaluate]


_BODIES: dict[str, _Body] = {
    "scraper": _scraper_body,
    "etl": _etl_body,
    "doc": _doc_body,
    "monitor": _monitor_body,
}


# --------------------------------------------------------------------------- live demo


def _wire_for_agent(plans: list[_Plan], now: dt.datetime) -> None:
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
        row["next_run"] = _next_run(row["schedule"], row["timezone"], now)


# --------------------------------------------------------------------------- seeding


def _batch_rows(columns: int) -> int:
    """Rows per INSERT that keep under the dialect's bound-parameter limit."""
    name = dialect()
    if name == "sqlite":
        limit = 32_766 if sqlite3.sqlite_version_info >= (3, 32) else 999
    elif name == "postgresql":
        limit = 65_535
    else:
        limit = 2_100
    return max(1, min(BATCH_ROWS, (limit - 1) // columns))


def _insert(model: type[Model], rows: list[dict[str, Any]]) -> None:
    if rows:
        for batch in chunked(rows, _batch_rows(len(rows[0]))):
            model.insert_many(batch).execute()


def _refuse_if_seeded() -> None:
    if Apps.select().exists():
        raise Conflict("The apps table is not empty; the demo fleet only seeds an empty database.")


def seed_demo(
    *, apps: int = 72, days: int = 3, seed: int = 42, now: dt.datetime | None = None
) -> SeedSummary:
    """Fill an empty database with a realistic demo fleet and its last ``days`` of history."""
    if apps < 1:
        raise InvalidInput("apps must be at least 1", field="apps")
    if days < 1:
        raise InvalidInput("days must be at least 1", field="days")
    _refuse_if_seeded()
    moment = _seed_time(now)
    rng = random.Random(seed)
    plans = _plan_apps(rng, apps, moment)
    sim = _Simulator(rng=rng, now=moment, start=moment - dt.timedelta(days=days))
    for plan in plans:
        sim.simulate(plan)
    _wire_for_agent(plans, moment)
    sim.runtimes.sort(key=lambda r: r["started"])
    sim.logs.sort(key=lambda r: r["timestamp"])
    sim.function_logs.sort(key=lambda r: r["started"])
    sim.tasks.sort(key=lambda r: r["created"])
    rows = [plan.row for plan in plans]
    with database.atomic():
        _refuse_if_seeded()  # again, inside the transaction that writes
        _insert(Apps, rows)
        _insert(Runtime, sim.runtimes)
        _insert(Logs, sim.logs)
        _insert(FunctionLog, sim.function_logs)
        _insert(PipelineTask, sim.tasks)
    return SeedSummary(
        apps=len(rows),
        runtimes=len(sim.runtimes),
        logs=len(sim.logs),
        function_logs=len(sim.function_logs),
        pipeline_tasks=len(sim.tasks),
    )
