"""The demo fleet's apps: what ``make demo``'s in-process agent really runs.

No network: scrapers "fetch" pages they generate, ETL jobs transform rows they make
up, and the document pipelines read the small sample scans shipped in
``control/demo/documents/``. Everything sleeps on the cancel token, so a STOP ends a
run within a fraction of a second. Registered as entry points (``demo.scraper``, …;
``pyproject.toml``); the demo seed points each app at one through
``settings["entrypoint"]``.

Behaviour, per run (a ``random.Random`` seeded with the runtime id):

* ``scraper``: 20-90 s over a few hundred items with progress, an occasional timeout
  retried (WARNING), and about one run in fifteen failing;
* ``etl``: extract, transform in batches (progress), load; 15-60 s;
* ``monitor``: a few seconds of checks;
* ``documents``: 3-6 sample documents through RECEIVED → OCR → NER → VALIDATION →
  STORED as pipeline tasks (the OCR stage normalises the scan's text, the NER stage
  extracts companies, dates, amounts and VAT ids with regular expressions; documents
  missing what their type needs fail validation);
* ``service``: loops until stopped, handling items every few seconds;
* ``failing``: always fails, so its app turns FATAL after ``DC_AGENT_FATAL_AFTER`` runs.
"""

from __future__ import annotations

import functools
import random
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from control.agent import AppContext

DOCUMENTS_DIR = Path(__file__).resolve().parent / "documents"

_DOCUMENT_TYPES = {
    "registration": "company_registration",
    "invoice": "invoice",
    "ruling": "court_ruling",
    "annual_report": "annual_report",
}

_SCRAPER_ERRORS = (
    "TimeoutError: no response from {host} after 3 retries (30s each)",
    "HTTPError: 503 Service Unavailable for {url}/search?page={page}",
    "ParserError: element 'table#results' not found on page {page}",
)


def _rng(ctx: AppContext) -> random.Random:
    return random.Random(ctx.runtime_id or ctx.app_id)


def _host(ctx: AppContext) -> tuple[str, str]:
    url = str(ctx.settings.get("base_url") or f"https://{ctx.app_id.replace('_', '-')}.example.com")
    return url, url.split("://", 1)[-1]


def _work(ctx: AppContext, seconds: float) -> None:
    """Spend ``seconds`` "working"; a STOP ends the run here."""
    if ctx.sleep(seconds):
        ctx.cancel.raise_if_cancelled()


# --------------------------------------------------------------------------- scrapers


def scraper(ctx: AppContext) -> dict[str, int]:
    """Fetch a listing and its detail pages, with progress and retried timeouts."""
    rng = _rng(ctx)
    url, host = _host(ctx)
    page_size = int(ctx.settings.get("page_size", 50))
    total = rng.randint(120, 480)
    pages = max(1, -(-total // page_size))
    per_item = rng.uniform(20, 90) / total
    fails_at = rng.randint(total // 4, total - 1) if rng.random() < 1 / 15 else None

    with ctx.function_log("fetch_listing", task_size=pages) as call:
        ctx.log.info("Fetching listing from %s/search", url)
        for page in range(1, pages + 1):
            _work(ctx, rng.uniform(0.1, 0.4))
            if rng.random() < 0.05:
                ctx.log.warning("Timeout after 30s on %s/search?page=%s, retrying (1/3)", url, page)
                _work(ctx, rng.uniform(0.3, 0.8))
            call.solved += 1
        ctx.log.info("Listing complete: %s pages, %s records", pages, total)

    ctx.progress(0, total)
    solved = failed = 0
    with ctx.function_log("fetch_details", task_size=total) as call:
        for done in range(1, total + 1):
            _work(ctx, per_item)
            if fails_at is not None and done == fails_at:
                raise RuntimeError(
                    rng.choice(_SCRAPER_ERRORS).format(host=host, url=url, page=done // page_size)
                )
            if rng.random() < 0.01:
                failed += 1
                call.failed += 1
                ctx.tally(failed=1)
                ctx.log.error(
                    "Validation failed for record %s: missing VAT id", rng.randint(1000, 99_999)
                )
            else:
                solved += 1
                call.solved += 1
                ctx.tally(solved=1)
            ctx.progress(done)
            if done % max(1, total // 4) == 0:
                ctx.log.info("Fetched %s/%s records from %s", done, total, host)

    with ctx.function_log("store_results", task_size=solved) as call:
        _work(ctx, rng.uniform(0.3, 1.0))
        call.solved = solved
        ctx.log.info("Stored %s records in raw.%s", solved, ctx.app_id)
    return {"total": total, "solved": solved, "failed": failed}


# --------------------------------------------------------------------------- ETL


def etl(ctx: AppContext) -> dict[str, int]:
    """Extract, transform in batches with progress, load."""
    rng = _rng(ctx)
    source = ctx.settings.get("source", "staging.source")
    target = ctx.settings.get("target_table", "warehouse.target")
    rows = rng.randint(5_000, 60_000)
    batch = int(ctx.settings.get("batch_size", 5000))
    batches = max(1, -(-rows // batch))
    seconds = rng.uniform(15, 60)

    with ctx.function_log("extract_source", task_size=rows) as call:
        ctx.log.info("Extracting from %s", source)
        _work(ctx, seconds * 0.2)
        call.solved = rows
        ctx.log.info("Extracted %s rows from %s", rows, source)

    ctx.progress(0, rows)
    skipped = 0
    with ctx.function_log("process_records", task_size=rows) as call:
        for b in range(1, batches + 1):
            _work(ctx, seconds * 0.6 / batches)
            size = min(batch, rows - (b - 1) * batch)
            bad = rng.randint(0, 3) if rng.random() < 0.2 else 0
            skipped += bad
            call.solved += size - bad
            call.failed += bad
            ctx.tally(solved=size - bad, failed=bad)
            ctx.progress(min(rows, b * batch))
            ctx.log.debug("Transformed batch %s/%s (%s rows)", b, batches, size)
        if skipped:
            ctx.log.warning("Skipped %s rows with an invalid postcode", skipped)

    with ctx.function_log("store_results", task_size=rows - skipped) as call:
        _work(ctx, seconds * 0.2)
        call.solved = rows - skipped
        ctx.log.info("Loaded %s rows into %s", rows - skipped, target)
    return {"total": rows, "solved": rows - skipped, "failed": skipped}


# --------------------------------------------------------------------------- monitors


def monitor(ctx: AppContext) -> dict[str, int]:
    """A few seconds of checks against made-up targets."""
    rng = _rng(ctx)
    targets = int(ctx.settings.get("targets", 20))
    ctx.progress(0, targets)
    failing = 0
    with ctx.function_log("check_sources", task_size=targets) as call:
        for done in range(1, targets + 1):
            _work(ctx, rng.uniform(1.5, 6) / targets)
            if rng.random() < 0.03:
                failing += 1
                call.failed += 1
            else:
                call.solved += 1
            ctx.progress(done)
    if failing:
        channel = ctx.settings.get("alert_channel", "#data-alerts")
        ctx.log.warning("Alert sent to %s: %s checks failing", channel, failing)
    ctx.log.info("%s/%s checks passed", targets - failing, targets)
    return {"total": targets, "solved": targets - failing, "failed": failing}


# --------------------------------------------------------------------------- services


def service(ctx: AppContext) -> None:
    """Handle items every few seconds until stopped."""
    rng = _rng(ctx)
    queue = ctx.settings.get("queue", f"dc.{ctx.app_id}")
    handled = 0
    ctx.log.info("Consuming %s with %s workers", queue, ctx.settings.get("workers", 2))
    while not ctx.cancel.cancelled:
        with ctx.function_log("handle_batch") as call:
            if ctx.sleep(rng.uniform(2, 5)):
                break
            items = rng.randint(0, 40)
            call.task_size = items
            call.solved = items
        handled += items
        ctx.tally(solved=items)
        ctx.progress(handled)
        if rng.random() < 0.05:
            ctx.log.warning("Broker channel closed by peer; reopening")
        elif rng.random() < 0.2:
            ctx.log.info("Handled %s items from %s so far", handled, queue)
    ctx.log.info("Stopping: %s items handled", handled)


# --------------------------------------------------------------------------- failing


def failing(ctx: AppContext) -> None:
    """Always fails, as a scraper whose source changed its layout."""
    url, _ = _host(ctx)
    ctx.log.info("Fetching listing from %s/search", url)
    with ctx.function_log("fetch_listing", task_size=1):
        _work(ctx, 2.0)
        raise RuntimeError(
            "Site layout changed: selector 'table#results' matches nothing on the listing page"
        )


# --------------------------------------------------------------------------- documents


@dataclass
class Extracted:
    """What the NER-like stage found in one document."""

    companies: list[str] = field(default_factory=list)
    dates: list[str] = field(default_factory=list)
    amounts: list[str] = field(default_factory=list)
    vat_ids: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)  # register and case numbers

    def count(self) -> int:
        return sum(len(v) for v in vars(self).values())


# OCR confuses O with 0, l and I with 1, S with 5 inside numbers.
_DIGIT_LOOKALIKES = str.maketrans({"O": "0", "o": "0", "l": "1", "I": "1", "S": "5"})
_NUMBERISH = re.compile(r"(?<![A-Za-z])[0-9OolIS][0-9OolIS.,]*[0-9OolIS](?![A-Za-z])")
_COMPANY = re.compile(
    r"\b([A-Z][\w'&-]*(?: +(?:[A-Z][\w'&-]*|du|de|des|van|der|von|la|le)){0,4}?) +"
    r"(GmbH|AG|SE|SAS|SARL|SA|Ltd|Limited|PLC|B\.V\.|N\.V\.|Sp\. z o\.o\.)(?=[\s,.)]|$)"
)
_DATE = re.compile(
    r"\b(\d{1,2}[./]\d{1,2}[./]\d{4}|\d{4}-\d{2}-\d{2}|\d{2}-\d{2}-\d{4}|"
    r"\d{1,2} (?:January|February|March|April|May|June|July|August|September|October|"
    r"November|December) \d{4})\b"
)
_AMOUNT = re.compile(r"\b(?:EUR|GBP|PLN)\s?\d[\d., ]*\d")
_VAT = re.compile(r"\b(DE\d{9}|FR[0-9A-Z]{2}\d{9}|NL\d{9}B\d{2}|PL\d{10}|GB\d{9})\b")
_REFERENCE = re.compile(
    r"\b(HRB \d[\d ]*\d|RCS \w+ \d{3} \d{3} \d{3}|KRS [\d ]*\d|KvK \d{8}|"
    r"Case No\. [A-Z]{2}-\d{4}-\d{6}|Az\.: \d+ [A-Z] \d+/\d{2})"
)
_REQUIRED = {
    "company_registration": ("companies", "dates", "references"),
    "invoice": ("companies", "dates", "amounts", "vat_ids"),
    "court_ruling": ("companies", "dates", "references"),
    "annual_report": ("companies", "amounts"),
}


def _fix_digits(match: re.Match[str]) -> str:
    token = match.group(0)
    return token.translate(_DIGIT_LOOKALIKES) if any(c.isdigit() for c in token) else token


def ocr_normalise(raw: str) -> str:
    """The OCR-like stage: Unicode-normalise, re-join hyphenated lines, fix digit
    look-alikes inside numbers, collapse runs of spaces."""
    text = unicodedata.normalize("NFKC", raw)
    text = re.sub(r"-\n\s*", "", text)
    text = _NUMBERISH.sub(_fix_digits, text)
    return "\n".join(re.sub(r"[ \t]+", " ", line).strip() for line in text.splitlines())


def extract_entities(text: str) -> Extracted:
    """The NER-like stage: companies, dates, amounts, VAT ids and register/case numbers."""
    companies = [f"{name} {form}" for name, form in _COMPANY.findall(text)]
    return Extracted(
        companies=list(dict.fromkeys(companies)),
        dates=_DATE.findall(text),
        amounts=_AMOUNT.findall(text),
        vat_ids=_VAT.findall(text),
        references=_REFERENCE.findall(text),
    )


def validate(document_type: str, found: Extracted) -> list[str]:
    """What the document lacks for its type (empty when it passes)."""
    labels = {
        "companies": "company name",
        "dates": "date",
        "amounts": "amount",
        "vat_ids": "VAT id",
        "references": "register or case number",
    }
    return [f"no {labels[k]} found" for k in _REQUIRED[document_type] if not getattr(found, k)]


@functools.cache
def sample_documents() -> tuple[tuple[str, str, str], ...]:
    """``(document type, file name, text)`` of every shipped sample scan."""
    docs = []
    for path in sorted(DOCUMENTS_DIR.glob("*.txt")):
        kind = next(
            (t for prefix, t in _DOCUMENT_TYPES.items() if path.name.startswith(prefix)), None
        )
        if kind is not None:
            docs.append((kind, path.name, path.read_text(encoding="utf-8")))
    return tuple(docs)


def documents(ctx: AppContext) -> dict[str, int]:
    """A pipeline run over a few sample documents of the app's document types."""
    rng = _rng(ctx)
    wanted = set(ctx.settings.get("document_types") or _DOCUMENT_TYPES.values())
    pool = [d for d in sample_documents() if d[0] in wanted] or list(sample_documents())
    # the scans that fail validation come up about one time in ten
    weights = [3 - 2 * bool(validate(k, extract_entities(ocr_normalise(t)))) for k, _, t in pool]
    batch = rng.choices(pool, weights=weights, k=rng.randint(3, 6))
    ctx.progress(0, len(batch))
    inbox = ctx.settings.get("inbox", "s3://dc-inbox/")
    with ctx.function_log("fetch_documents", task_size=len(batch)) as call:
        tasks = [
            (kind, text, ctx.pipeline.receive(kind, f"{inbox}{name}")) for kind, name, text in batch
        ]
        _work(ctx, rng.uniform(0.5, 1.5))
        call.solved = len(tasks)
    ctx.log.info("Received %s documents from %s", len(tasks), inbox)

    solved = failed = 0
    for done, (kind, raw, task) in enumerate(tasks, 1):
        ctx.cancel.raise_if_cancelled()
        ref = task.row.document_ref
        with ctx.function_log("parse_documents", task_size=1), task.stage("OCR"):
            _work(ctx, rng.uniform(1.0, 3.0))
            if rng.random() < 0.1:
                task.retry("OCR service timeout after 120s")
                ctx.log.warning("OCR timed out on %s; retrying", ref)
                _work(ctx, rng.uniform(0.5, 1.5))
                task.advance("OCR")
            text = ocr_normalise(raw)
        with ctx.function_log("extract_entities", task_size=1), task.stage("NER"):
            _work(ctx, rng.uniform(0.5, 2.0))
            found = extract_entities(text)
            ctx.log.debug("NER extracted %s entities from %s", found.count(), ref)
        with task.stage("VALIDATION"):
            _work(ctx, rng.uniform(0.2, 0.8))
            problems = validate(kind, found)
        if problems:
            task.fail("; ".join(problems).capitalize())
            ctx.log.error("Validation failed for %s: %s", ref, "; ".join(problems))
            failed += 1
            ctx.tally(failed=1)
        else:
            with ctx.function_log("store_results", task_size=1), task.stage("STORED"):
                _work(ctx, rng.uniform(0.2, 0.6))
            task.complete()
            solved += 1
            ctx.tally(solved=1)
        ctx.progress(done)
    ctx.log.info("Stored %s documents; %s failed validation", solved, failed)
    return {"total": len(tasks), "solved": solved, "failed": failed}


def describe_entrypoints() -> dict[str, Any]:
    """The demo's entry point names and callables (for docs and tests)."""
    return {
        "demo.scraper": scraper,
        "demo.etl": etl,
        "demo.monitor": monitor,
        "demo.documents": documents,
        "demo.service": service,
        "demo.failing": failing,
    }
