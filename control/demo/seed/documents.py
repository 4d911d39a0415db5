"""Document tasks: what the document pipelines and the OCR queue worker work through.

Each document goes RECEIVED → OCR → NER → VALIDATION → STORED; some fail at a stage
(for good, with the stage's reason) and some wait to retry after a transient error.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from control.demo.seed.catalogue import DOCUMENT_TYPES
from control.demo.seed.history import History, Run
from control.demo.seed.plan import Plan
from control.demo.seed.times import at, secs
from control.enums import PipelineStatus, RuntimeStatus

STAGES = ("RECEIVED", "OCR", "NER", "VALIDATION", "STORED")

_PAGES = {
    "company_registration": (2, 10),
    "annual_report": (20, 120),
    "court_ruling": (5, 40),
    "invoice": (1, 3),
}
_COURTS = {
    "de": "LG-Berlin",
    "fr": "TC-Paris",
    "uk": "EWHC-Comm",
    "nl": "Rb-Amsterdam",
    "pl": "SR-Warszawa",
}
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


def stage_durations(rng: random.Random, doc_type: str) -> dict[str, float]:
    """How long each stage takes for a document of ``doc_type``, seconds."""
    pages = _PAGES[doc_type]
    return {
        "RECEIVED": round(rng.uniform(0.05, 0.8), 3),
        "OCR": round(rng.randint(*pages) * rng.uniform(0.8, 2.5), 3),
        "NER": round(rng.uniform(0.8, 12), 3),
        "VALIDATION": round(rng.uniform(0.1, 2.5), 3),
        "STORED": round(rng.uniform(0.1, 1.5), 3),
    }


def document_ref(rng: random.Random, plan: Plan, doc_type: str) -> str:
    """A plausible file name for a document of ``doc_type`` from the app's country."""
    country = plan.ctx.get("country", "de")
    year = plan.row["created"].year + 1
    if doc_type == "company_registration":
        return f"{country.upper()}/HRB-{rng.randint(10_000, 999_999)}/registration.pdf"
    if doc_type == "annual_report":
        return f"{country.upper()}/{rng.randint(1_000_000, 9_999_999)}/annual-report-{year - 1}.pdf"
    if doc_type == "court_ruling":
        return f"{_COURTS.get(country, 'LG-Berlin')}/{rng.randint(1, 999)}-{year}.pdf"
    return f"INV-{year}-{rng.randint(1, 999_999):06d}.pdf"


def run_tasks(h: History, plan: Plan, run: Run, first: float, last: float) -> list[tuple[str, str]]:
    """The documents a pipeline run works through, as (type, ref); fills in the run's
    counts."""
    rng = h.rng
    count = run.total if run.status is RuntimeStatus.RUNNING else rng.randint(2, 10)
    slot = (last - first) / count
    fail_rate = 0.1 if run.status is RuntimeStatus.FAILED else 0.05
    refs: list[tuple[str, str]] = []
    solved = failed = 0
    for j in range(count):
        begin = first + j * slot + rng.uniform(0, 0.1) * slot
        created = max(h.start, at(run.start, -rng.uniform(0, 1800)))
        task = _task(h, plan, run, created, (begin, slot * 0.85), fail_rate)
        if task is None:
            continue
        refs.append((task["document_type"], task["document_ref"]))
        solved += task["status"] is PipelineStatus.COMPLETED
        failed += task["status"] is PipelineStatus.FAILED
    waiting = rng.randint(0, 2) if run.status is RuntimeStatus.RUNNING else 0
    for _ in range(waiting):
        _live_task(h, plan, run, PipelineStatus.RETRYING)
    run.total, run.solved, run.failed = count + waiting, solved, failed
    return refs


def queue_tasks(h: History, plan: Plan, run: Run) -> list[float]:
    """Documents a queue worker handles as they arrive; returns when each one ended
    (seconds into the run)."""
    rng, cut = h.rng, run.length
    ended: list[float] = []
    offset = rng.uniform(60, 1200)
    while offset < cut:
        gap = rng.uniform(600, 2400)
        created = at(run.start, offset - rng.uniform(1, 60))
        task = _task(h, plan, run, created, (offset, min(gap * 0.8, 300.0)), 0.05)
        if task is not None and task["ended"] is not None:
            ended.append(secs(task["ended"], run.start))
        offset += gap
    if run.status is RuntimeStatus.RUNNING:
        for _ in range(rng.randint(2, 4)):  # just arrived, waiting for a worker
            created = at(run.start, cut - rng.uniform(5, 300))
            _task(h, plan, run, created, (cut + 1, 60.0), 0.0)
        for _ in range(rng.randint(1, 3)):
            _live_task(h, plan, run, PipelineStatus.PROCESSING)
        for _ in range(rng.randint(1, 2)):
            _live_task(h, plan, run, PipelineStatus.RETRYING)
    return ended


def _row(
    plan: Plan, run: Run, doc_type: str, ref: str, created: dt.datetime, **fields: Any
) -> dict[str, Any]:
    """A ``PipelineTask`` row: a document received at ``created``, then ``fields``."""
    row: dict[str, Any] = {
        "app": plan.app_id,
        "runtime": run.id,
        "document_type": doc_type,
        "document_ref": ref,
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
    row.update(fields)
    return row


def _task(
    h: History,
    plan: Plan,
    run: Run,
    created: dt.datetime,
    window: tuple[float, float],
    fail_rate: float,
) -> dict[str, Any] | None:
    """One document processed from ``begin`` (seconds into the run) within ``budget``
    (``window`` is both); None when the run ended before it was picked up."""
    rng, cut = h.rng, run.length
    begin, budget = window
    doc_type = rng.choice(plan.doc_types or DOCUMENT_TYPES)
    durations = stage_durations(rng, doc_type)
    total = sum(durations.values())
    if total > budget:
        durations = {stage: round(s * budget / total, 3) for stage, s in durations.items()}
    task = _row(plan, run, doc_type, document_ref(rng, plan, doc_type), created)
    live = run.status is RuntimeStatus.RUNNING
    if begin >= cut:
        if not live:
            return None  # still in the inbox for the next run
        h.tasks.append(task)
        return task
    started = at(run.start, begin)
    task["started"] = started
    fails_at = None
    done: dict[str, float]
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
            h.tasks.append(task)
            return task
        done = {**done, stage: seconds}
        spent += seconds
        if stage == fails_at:
            break
    ended = at(started, spent)
    task.update(stage_durations=done, duration_seconds=round(spent, 3), ended=ended, updated=ended)
    if fails_at is not None:
        reasons = (
            _VALIDATION_ERRORS[doc_type] if fails_at == "VALIDATION" else _STAGE_ERRORS[fails_at]
        )
        task.update(
            stage=fails_at,
            status=PipelineStatus.FAILED,
            error=rng.choice(reasons),
            error_stage=fails_at,
        )
    else:
        task.update(stage="STORED", status=PipelineStatus.COMPLETED)
        if rng.random() < 0.06:
            task["retries"] = 1
    h.tasks.append(task)
    return task


def _live_task(h: History, plan: Plan, run: Run, status: PipelineStatus) -> None:
    """A document in a worker's hands now, or waiting to retry after a transient error."""
    rng = h.rng
    doc_type = rng.choice(plan.doc_types or DOCUMENT_TYPES)
    stage = rng.choice(("OCR", "NER", "VALIDATION"))
    durations = stage_durations(rng, doc_type)
    done = {s: durations[s] for s in STAGES[: STAGES.index(stage)]}
    retrying = status is PipelineStatus.RETRYING
    if retrying:
        offset = run.length * rng.uniform(0.05, 0.8)
    else:  # entered its current stage a few seconds ago
        offset = run.length - sum(done.values()) - rng.uniform(1, 30)
    started = at(run.start, max(1.0, offset))
    ref = document_ref(rng, plan, doc_type)
    retries = rng.randint(1, 3) if retrying else 0
    created = max(h.start, at(started, -rng.uniform(1, 600)))
    h.tasks.append(
        _row(
            plan,
            run,
            doc_type,
            ref,
            created,
            stage=stage,
            status=status,
            retries=retries,
            error=_TRANSIENT_ERRORS[stage] if retrying else None,
            error_stage=stage if retrying else None,
            stage_durations=done,
            started=started,
            updated=run.cutoff,
        )
    )
