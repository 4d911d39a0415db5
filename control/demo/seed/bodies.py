"""Log bodies: the lines a scheduled run of each kind writes, phase by phase."""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from control.demo.seed.catalogue import sources
from control.demo.seed.history import DEBUG, ERROR, INFO, WARNING
from control.demo.seed.plan import Plan

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

# Each body gives a run's log lines per phase: the last closes the phase, the first opens
# it (when there are two or more) and the others fall in between (see ``spread``).
Lines = list[tuple[int, str]]
Body = Callable[[random.Random, Plan, int, int, list[tuple[str, str]]], list[Lines]]


def spread(rng: random.Random, begin: float, length: float, count: int) -> list[float]:
    """When a phase's lines are written: at its end, at its start and in between."""
    edge = min(0.5, length * 0.01)
    if count == 1:
        return [begin + length - edge]
    middle = sorted(begin + edge + (length - 2 * edge) * rng.random() for _ in range(count - 2))
    return [begin + edge, *middle, begin + length - edge]


def _scraper_body(
    rng: random.Random, plan: Plan, total: int, failed: int, refs: list[tuple[str, str]]
) -> list[Lines]:
    ctx, settings = plan.ctx, plan.row["settings"]
    url, host = ctx["url"], ctx["host"]
    pages = max(1, math.ceil(total / settings["page_size"]))
    noun = _NOUNS.get(plan.spec.parent, "records")

    listing: Lines = [(INFO, f"Fetching listing from {url}/search")]
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

    details: Lines = [(INFO, f"Fetching {total} {noun} with {settings['concurrency']} workers")]
    if rng.random() < 0.25:
        details.append((DEBUG, f"Session cookie refreshed for {host}"))
    details.append((INFO, f"Fetched {total} {noun}"))

    process: Lines = []
    if failed and rng.random() < 0.6:
        record, reason = rng.randint(1000, 99_999), rng.choice(_VALIDATION_REASONS)
        process.append((ERROR, f"Validation failed for record {record}: {reason}"))
    if rng.random() < 0.25:
        dupes = rng.randint(0, total // 20 + 1)
        process.append((DEBUG, f"Deduplicated {dupes} records against the previous snapshot"))
    if failed:
        process.append((WARNING, f"{failed} records failed validation"))
    process.append((INFO, f"Parsed {total} records"))

    store: Lines = [(INFO, f"Stored {total - failed} records in {ctx['table']}")]
    return [listing, details, process, store]


def _etl_body(
    rng: random.Random, plan: Plan, total: int, failed: int, refs: list[tuple[str, str]]
) -> list[Lines]:
    ctx, batch = plan.ctx, plan.row["settings"]["batch_size"]
    batches = max(1, math.ceil(total / batch))
    extract: Lines = [(INFO, f"Extracting from {ctx['source']}")]
    if rng.random() < 0.4:
        extract.append((DEBUG, "Using the incremental cursor on updated_at"))
    extract.append((INFO, f"Extracted {total} rows from {ctx['source']}"))

    process: Lines = [(INFO, f"Transforming {total} rows in {batches} batches")]
    for b in sorted(rng.sample(range(1, batches + 1), min(2, batches))):
        process.append(
            (DEBUG, f"Transformed batch {b}/{batches} ({min(batch, total - (b - 1) * batch)} rows)")
        )
    if failed:
        column = rng.choice(("postcode", "vat_id", "incorporation_date", "currency"))
        process.append((WARNING, f"Skipped {failed} rows with an invalid {column}"))
    process.append((INFO, f"Transformed {total - failed} rows"))

    store: Lines = [(INFO, f"Loaded {total - failed} rows into {ctx['table']}")]
    return [extract, process, store]


def _doc_body(
    rng: random.Random, plan: Plan, total: int, failed: int, refs: list[tuple[str, str]]
) -> list[Lines]:
    inbox = plan.row["settings"]["inbox"]
    fetch: Lines = [(INFO, f"Received {total} documents from {inbox}")]
    parse: Lines = [(INFO, f"Running OCR on {total} documents")]
    for _, ref in refs[:2]:
        confidence, pages = rng.uniform(0.62, 0.99), rng.randint(1, 40)
        parse.append((INFO, f"OCR finished for {ref} ({pages} pages, confidence {confidence:.2f})"))
        if confidence < 0.8:
            page = rng.randint(1, pages)
            parse.append((WARNING, f"Low OCR confidence {confidence:.2f} on {ref}, page {page}"))
    parse.append((INFO, f"OCR done for {total} documents"))
    entities: Lines = [(INFO, "Extracting entities with ner-multilingual-v4")]
    entities += [
        (DEBUG, f"NER extracted {rng.randint(3, 60)} entities from {ref}") for _, ref in refs[:1]
    ]
    entities.append((INFO, f"Entities extracted from {total} documents"))
    store: Lines = [(INFO, "Validating and storing documents")]
    if failed and refs:
        store.append((ERROR, f"Validation failed for {refs[-1][1]}: registration number not found"))
    store.append((INFO, f"Stored {total - failed} documents in s3://dc-documents/"))
    return [fetch, parse, entities, store]


def _monitor_body(
    rng: random.Random, plan: Plan, total: int, failed: int, refs: list[tuple[str, str]]
) -> list[Lines]:
    settings = plan.row["settings"]
    source = rng.choice(sources())
    check: Lines = []
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
    evaluate: Lines = []
    if failed:
        channel = settings["alert_channel"]
        evaluate.append((WARNING, f"Alert sent to {channel}: {failed} checks failing"))
    evaluate.append((INFO, f"{total - failed}/{total} checks passed"))
    return [check, evaluate]


BODIES: dict[str, Body] = {
    "scraper": _scraper_body,
    "etl": _etl_body,
    "doc": _doc_body,
    "monitor": _monitor_body,
}
