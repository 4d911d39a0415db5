"""Planning the fleet: each app's row, settings, behaviour and state at the seed's moment."""

from __future__ import annotations

import datetime as dt
import itertools
import random
from dataclasses import dataclass
from typing import Any

from control.demo.seed.catalogue import (
    AGENTS,
    COUNTRIES,
    DOCUMENT_TYPES,
    LANGUAGES,
    Spec,
    catalogue,
)
from control.demo.seed.kinds import KINDS
from control.demo.seed.times import log_uniform, next_run, runs_per_day, seed_time
from control.enums import CommandFlag, FatalFlag, RunStatus
from control.errors import InvalidInput


@dataclass
class Plan:
    """One app: its row plus what the simulation needs to know about it."""

    spec: Spec
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
        app_id: str = self.row["id"]
        return app_id


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


def _settings(rng: random.Random, spec: Spec, plan_ctx: dict[str, Any]) -> dict[str, Any]:
    """The app's settings (no secrets) and the values its messages quote."""
    kind = spec.kind
    stem = spec.app.split("_", 1)[1]
    country = spec.country or rng.choice(COUNTRIES)[0]
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
        lang=LANGUAGES[country],
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
            "languages": [LANGUAGES[country], "eng"],
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


def _new_plan(rng: random.Random, spec: Spec, copy: int, now: dt.datetime) -> Plan:
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
        "next_run": None if is_service else next_run(spec.schedule, spec.timezone, now),
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
    kind = KINDS.get(spec.kind)
    host = rng.choice(AGENTS)
    ctx["agent"] = host
    flaky = rng.random() < 0.12
    return Plan(
        spec=spec,
        row=row,
        host=host,
        flakiness=rng.uniform(0.12, 0.22) if flaky else rng.uniform(0.01, 0.06),
        typical_seconds=log_uniform(rng, *kind.duration) if kind else 0.0,
        volume=round(log_uniform(rng, *kind.volume)) if kind else 0,
        ctx=ctx,
        doc_types=_doc_types(spec.app) if spec.group == "documents" else (),
        state="service" if is_service else "idle",
    )


def _assign_states(rng: random.Random, plans: list[Plan], now: dt.datetime) -> None:
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
    fatal = [p for p in order if runs_per_day(p.spec.schedule, p.spec.timezone) >= 4][:n_fatal]
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
        kind = KINDS[plan.kind]
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


def plan_apps(rng: random.Random, count: int, now: dt.datetime) -> list[Plan]:
    """``count`` apps from the catalogue (its copies numbered ``_2``, ``_3``, ... once it
    runs out), in their states at ``now``."""
    specs = catalogue()
    plans = [_new_plan(rng, specs[i % len(specs)], i // len(specs), now) for i in range(count)]
    _assign_states(rng, plans, now)
    return plans


def make_apps(
    count: int, *, seed: int = 42, now: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """Only the Apps rows (dicts of field name → value), for benchmarks needing many apps."""
    if count < 0:
        raise InvalidInput("count must not be negative", field="count")
    return [plan.row for plan in plan_apps(random.Random(seed), count, seed_time(now))]
