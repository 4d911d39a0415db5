"""The demo fleet's base catalogue: countries, apps, schedules and descriptions.

Registry groups are countries (``de``, ``fr``, ...): their app ids carry the country,
``scraper_company_registry_de``, while ``Apps.app`` is the name within the parent,
``scraper_company_registry``. Functional groups (``etl``, ``documents``, ``monitoring``,
``platform``) use the app name as the id. Names start with their kind: ``scraper_``,
``etl_``, ``doc_``, ``monitor_`` or ``service_``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

AGENTS = ("agent-1", "agent-2", "agent-3", "agent-4")
DOCUMENT_TYPES = ("company_registration", "annual_report", "court_ruling", "invoice")

COUNTRIES = (
    ("de", "Germany", "Europe/Berlin"),
    ("fr", "France", "Europe/Paris"),
    ("uk", "the United Kingdom", "Europe/London"),
    ("nl", "the Netherlands", "Europe/Amsterdam"),
    ("pl", "Poland", "Europe/Warsaw"),
)
LANGUAGES = {"de": "deu", "fr": "fra", "uk": "eng", "nl": "nld", "pl": "pol"}

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


def table(text: str) -> list[list[str]]:
    """The cells of a ``|``-separated table, one list per non-empty line."""
    return [[cell.strip() for cell in line.split("|")] for line in text.strip().splitlines()]


@dataclass(frozen=True)
class Spec:
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
def catalogue() -> tuple[Spec, ...]:
    """The base apps, interleaved across groups so any prefix mixes every group."""
    groups: dict[str, list[Spec]] = {}
    for code, name, tz in COUNTRIES:
        groups[code] = [
            Spec(code, parent, app, schedule, tz, _DESCRIPTIONS[app].format(country=name), code)
            for parent, app, schedule in table(_COUNTRY_APPS)
        ]
    for group, parent, app, schedule, tz in table(_FUNCTIONAL_APPS):
        cron = None if schedule == "-" else schedule
        spec = Spec(group, parent, app, cron, tz, _DESCRIPTIONS[app])
        groups.setdefault(group, []).append(spec)
    lists = list(groups.values())
    ordered: list[Spec] = []
    for i in range(max(len(specs) for specs in lists)):
        ordered.extend(specs[i] for specs in lists if i < len(specs))
    return tuple(ordered)


@functools.cache
def sources() -> tuple[str, ...]:
    """The app ids of the country sources (what the monitors check)."""
    return tuple(spec.app_id for spec in catalogue() if spec.country)
