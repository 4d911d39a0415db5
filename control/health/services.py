"""App health: the baseline kept at each run's end, the verdicts evaluated and recorded,
``app.health_changed`` published after the commit, and what the API reads.

* :func:`run_ended` is called by ``control.agent.runtimes.finish_run`` (the one place a
  run is closed) after its commit: it judges the run against the baseline of the runs
  before it (``slow``, ``low_output``), adds a COMPLETED run to the baseline, then
  evaluates the app.
* :func:`evaluate_all` is the periodic evaluator (the ``evaluate_health`` maintenance
  actor): it finds the apps whose verdicts changed and applies each change under the
  app's row lock, from the app's rows read again there.
* A change is a ``health_verdict`` row raised (``cleared_at`` NULL) or cleared, and an
  ``app.health_changed`` event ``{app, verdict, state: raised|cleared, evidence,
  raised_at, cleared_at}``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from peewee import JOIN, ModelSelect, fn

from control.apps.models import Apps
from control.clock import utcnow
from control.db import compiled
from control.db.database import connected, dialect, locking, write_transaction
from control.enums import FatalFlag, RuntimeStatus
from control.errors import NotFound
from control.events import EventType, publish
from control.health.baselines import Baseline, add_sample, baseline_of, parse_samples
from control.health.models import AppBaseline, HealthVerdict
from control.health.verdicts import (
    VERDICTS,
    AppSnapshot,
    CurrentRun,
    Evidence,
    Thresholds,
    evaluate,
    judge_finished,
)
from control.querying import tuples
from control.runtimes.models import Runtime

log = logging.getLogger(__name__)

HISTORY_LIMIT = 50  # verdicts shown in an app's health history

Change = dict[str, Any]  # the data of one app.health_changed


def thresholds() -> Thresholds:
    from control.settings import get_settings

    return Thresholds.from_settings(get_settings())


def baseline_runs() -> int:
    from control.settings import get_settings

    return get_settings().health_baseline_runs


def _baseline(row: AppBaseline | None) -> Baseline | None:
    if row is None or not row.runs:
        return None
    return Baseline(row.runs, row.duration_p50, row.duration_p95, row.records_p50)


def _current(app: Apps, run: Runtime | None) -> CurrentRun | None:
    if run is None or run.status is not RuntimeStatus.RUNNING:
        return None
    return CurrentRun(run.id, run.started, run.heartbeat)


def _snapshot(app: Apps, run: Runtime | None, row: AppBaseline | None) -> AppSnapshot:
    return AppSnapshot(
        app_id=app.id,
        disabled=bool(app.disabled),
        fatal=app.fatal_flag is FatalFlag.FATAL,
        next_run=app.next_run,
        consecutive_failures=app.consecutive_failures or 0,
        progress_updated=app.progress_updated,
        progress_current=app.progress_current,
        current=_current(app, run),
        baseline=_baseline(row),
        last_run=row.last_run if row is not None else None,
        settings=app.settings if isinstance(app.settings, dict) else None,
    )


def _read_one(app_id: str, *, lock: bool) -> AppSnapshot | None:
    query = Apps.select().where(Apps.id == app_id)
    app = (locking(query) if lock else query).first()
    if app is None:
        return None
    run = Runtime.get_or_none(Runtime.id == app.current_runtime) if app.current_runtime else None
    return _snapshot(app, run, AppBaseline.get_or_none(AppBaseline.app == app_id))


def _open(app_ids: Iterable[str] | None = None) -> dict[str, dict[str, HealthVerdict]]:
    query = HealthVerdict.select().where(HealthVerdict.cleared_at.is_null())
    if app_ids is not None:
        query = query.where(HealthVerdict.app.in_(list(app_ids)))
    found: dict[str, dict[str, HealthVerdict]] = defaultdict(dict)
    for row in query:
        found[row.app_id][row.verdict] = row
    return found


def _apply(
    app_id: str, holds: dict[str, Evidence], open_rows: dict[str, HealthVerdict], now: dt.datetime
) -> list[Change]:
    """Raise what holds and is not open, clear what is open and no longer holds."""
    changes: list[Change] = []
    for verdict, row in open_rows.items():
        if verdict not in holds:
            HealthVerdict.update(cleared_at=now).where(HealthVerdict.id == row.id).execute()
            changes.append(_change(app_id, verdict, "cleared", row.evidence, row.raised_at, now))
    for verdict, evidence in holds.items():
        if verdict not in open_rows:
            HealthVerdict.create(app=app_id, verdict=verdict, raised_at=now, evidence=evidence)
            changes.append(_change(app_id, verdict, "raised", evidence, now, None))
    return changes


def _change(
    app_id: str,
    verdict: str,
    state: str,
    evidence: Any,
    raised_at: dt.datetime,
    cleared_at: dt.datetime | None,
) -> Change:
    return {
        "app": app_id,
        "verdict": verdict,
        "state": state,
        "evidence": evidence or {},
        "raised_at": raised_at,
        "cleared_at": cleared_at,
    }


def publish_changes(changes: Sequence[Change]) -> None:
    """``app.health_changed`` for each change (after the commit that made them)."""
    for change in changes:
        publish(EventType.APP_HEALTH_CHANGED, change)


def evaluate_app(
    app_id: str, now: dt.datetime | None = None, limits: Thresholds | None = None
) -> list[Change]:
    """Evaluate one app under its row lock, record and publish what changed."""
    limits = limits or thresholds()
    with connected(), write_transaction():
        snapshot = _read_one(app_id, lock=True)
        if snapshot is None:
            return []
        moment = now or utcnow()
        holds = evaluate(snapshot, moment, limits)
        changes = _apply(app_id, holds, _open([app_id]).get(app_id, {}), moment)
    publish_changes(changes)
    return changes


def run_ended(
    app_id: str,
    runtime_id: str,
    status: RuntimeStatus,
    seconds: float,
    records: int,
    ended: dt.datetime,
) -> list[Change]:
    """A run closed: judge it against the baseline of the runs before it, add it to the
    baseline when COMPLETED, and evaluate the app (after the run's commit)."""
    limits = thresholds()
    keep = baseline_runs()
    with connected(), write_transaction():
        snapshot = _read_one(app_id, lock=True)
        if snapshot is None:
            return []
        row = AppBaseline.get_or_none(AppBaseline.app == app_id)
        app_limits = limits.for_app(snapshot.settings)
        judged = judge_finished(status.value, seconds, records, _baseline(row), app_limits)
        samples = parse_samples(row.samples if row is not None else [])
        if status is RuntimeStatus.COMPLETED:
            samples = add_sample(samples, (runtime_id, round(seconds, 3), records), keep)
        base = baseline_of(samples)
        values: dict[Any, Any] = {
            AppBaseline.samples: [list(s) for s in samples],
            AppBaseline.runs: base.runs,
            AppBaseline.duration_p50: base.duration_p50,
            AppBaseline.duration_p95: base.duration_p95,
            AppBaseline.records_p50: base.records_p50,
            AppBaseline.last_run: {
                "runtime": runtime_id,
                "status": status.value,
                "seconds": round(seconds, 3),
                "records": records,
                "ended": ended.isoformat(timespec="seconds"),
                **judged,
            },
            AppBaseline.updated: ended,
        }
        if row is None:
            AppBaseline.insert({AppBaseline.app: app_id, **values}).execute()
        else:
            AppBaseline.update(values).where(AppBaseline.app == app_id).execute()
        snapshot = _read_one(app_id, lock=False)
        assert snapshot is not None
        now = utcnow()
        changes = _apply(
            app_id, evaluate(snapshot, now, limits), _open([app_id]).get(app_id, {}), now
        )
    publish_changes(changes)
    return changes


def _snapshots() -> list[AppSnapshot]:
    """Every app's snapshot, reading only what :func:`_snapshot` looks at: the periodic
    evaluator reads the whole fleet, and every column of it (the baselines' samples, the
    apps' descriptions) made its models cost seconds of CPU a minute at 10,000 apps."""
    current = Runtime.alias("current_run")
    query = (
        Apps.select(
            *(Apps.id, Apps.disabled, Apps.fatal_flag, Apps.next_run, Apps.settings),
            *(Apps.consecutive_failures, Apps.progress_updated, Apps.progress_current),
            *(current.id, current.status, current.started, current.heartbeat),
            *(AppBaseline.app, AppBaseline.runs, AppBaseline.last_run),
            *(AppBaseline.duration_p50, AppBaseline.duration_p95, AppBaseline.records_p50),
        )
        .join(current, JOIN.LEFT_OUTER, on=(current.id == Apps.current_runtime), attr="run")
        .switch(Apps)
        .join(AppBaseline, JOIN.LEFT_OUTER, on=(AppBaseline.app == Apps.id), attr="base")
    )
    found = []
    for app in query:
        run = getattr(app, "run", None)
        row = getattr(app, "base", None)
        found.append(
            _snapshot(
                app,
                run if run is not None and run.id is not None else None,
                row if row is not None and row.app_id is not None else None,
            )
        )
    return found


def evaluate_all(now: dt.datetime | None = None) -> list[Change]:
    """The periodic evaluator: every app, each change applied under the app's lock."""
    limits = thresholds()
    moment = now or utcnow()
    with connected():
        snapshots = _snapshots()
        open_rows = _open()
    changed = [
        s.app_id
        for s in snapshots
        if set(evaluate(s, moment, limits)) != set(open_rows.get(s.app_id, {}))
    ]
    changes: list[Change] = []
    for app_id in changed:
        try:
            changes += evaluate_app(app_id, now, limits)
        except Exception:
            log.exception("could not evaluate the health of %s", app_id)
    return changes


# ---- reading -------------------------------------------------------------------------


def _verdict_item(row: HealthVerdict) -> dict[str, Any]:
    return {
        "id": row.id,
        "verdict": row.verdict,
        "raised_at": row.raised_at,
        "cleared_at": row.cleared_at,
        "evidence": row.evidence or {},
    }


def app_health(app_id: str, limit: int = HISTORY_LIMIT) -> dict[str, Any]:
    """An app's baseline, its current verdicts and their history (newest first)."""
    with connected():
        if not Apps.select().where(Apps.id == app_id).exists():
            raise NotFound(f"No app with id {app_id!r}.")
        row = AppBaseline.get_or_none(AppBaseline.app == app_id)
        history = list(
            HealthVerdict.select()
            .where(HealthVerdict.app == app_id)
            .order_by(HealthVerdict.raised_at.desc(), HealthVerdict.id.desc())
            .limit(limit)
        )
        current = list(
            HealthVerdict.select()
            .where(HealthVerdict.app == app_id, HealthVerdict.cleared_at.is_null())
            .order_by(HealthVerdict.raised_at.asc(), HealthVerdict.id.asc())
        )
    base = _baseline(row)
    limits = thresholds().for_app(_app_settings(app_id))
    return {
        "app": app_id,
        "status": "ok" if not current else "unhealthy",
        "baseline": (
            base.as_dict() if base is not None else Baseline(0, None, None, None).as_dict()
        )
        | {
            "updated": row.updated if row is not None else None,
            "last_run": row.last_run if row is not None else None,
        },
        "thresholds": {
            "slow_factor": limits.slow_factor,
            "low_output_factor": limits.low_output_factor,
            "stalled_seconds": limits.stalled_seconds,
            "missed_grace_seconds": limits.missed_grace_seconds,
            "min_runs": limits.min_runs,
        },
        "verdicts": [_verdict_item(v) for v in current],
        "history": [_verdict_item(v) for v in history],
    }


def _app_settings(app_id: str) -> dict[str, Any] | None:
    with connected():
        settings = Apps.select(Apps.settings).where(Apps.id == app_id).scalar()
    return settings if isinstance(settings, dict) else None


def fleet() -> dict[str, Any]:
    """Per verdict, how many apps hold it and which."""
    with connected():
        rows = tuples(
            HealthVerdict.select(HealthVerdict.verdict, HealthVerdict.app)
            .where(HealthVerdict.cleared_at.is_null())
            .order_by(HealthVerdict.verdict, HealthVerdict.app)
        )
        total = Apps.select().count()
    apps: dict[str, list[str]] = {v: [] for v in VERDICTS}
    unhealthy: set[str] = set()
    for verdict, app_id in rows:
        apps.setdefault(verdict, []).append(app_id)
        unhealthy.add(app_id)
    return {
        "apps_total": total,
        "apps_unhealthy": len(unhealthy),
        "verdicts": {v: {"count": len(ids), "apps": ids} for v, ids in apps.items()},
    }


def verdict_counts() -> dict[str, int]:
    """Per verdict, the apps holding it now (Prometheus)."""
    counts = dict(
        tuples(
            HealthVerdict.select(HealthVerdict.verdict, fn.COUNT(HealthVerdict.id))
            .where(HealthVerdict.cleared_at.is_null())
            .group_by(HealthVerdict.verdict)
        )
    )
    return {v: int(counts.get(v, 0)) for v in VERDICTS}


def verdicts_of(app_ids: Iterable[str]) -> dict[str, list[str]]:
    """The current verdicts of each app (the app list's ``health`` field)."""
    ids = list(app_ids)
    if not ids:
        return {}
    found: dict[str, list[str]] = {}

    def query() -> ModelSelect[HealthVerdict]:
        return (
            HealthVerdict.select(HealthVerdict.app, HealthVerdict.verdict)
            .where(HealthVerdict.cleared_at.is_null(), HealthVerdict.app.in_(ids))
            .order_by(HealthVerdict.app, HealthVerdict.verdict)
        )

    with connected():
        # the ids determine the query: it is built and rendered to SQL once
        # (control/db/compiled.py)
        for app_id, verdict in compiled.tuple_rows(("health.verdicts_of", tuple(ids)), query):
            found.setdefault(app_id, []).append(verdict)
    return found


def held_now(app_id: Any) -> Any:
    """A correlated subquery for a list's SELECT: the verdicts the app ``app_id`` (a
    column of the outer query) holds now, joined by commas, NULL for none; read it with
    :func:`held`. One statement for a page and its verdicts instead of two."""
    joined = fn.group_concat if dialect() == "sqlite" else fn.string_agg
    return HealthVerdict.select(joined(HealthVerdict.verdict, ",")).where(
        HealthVerdict.app == app_id, HealthVerdict.cleared_at.is_null()
    )


def held(joined: str | None) -> list[str]:
    """The verdicts of a :func:`held_now` column, by name (as :func:`verdicts_of` lists
    them)."""
    return sorted(joined.split(",")) if joined else []


def holding(verdict: str) -> Any:
    """A subquery of the ids of the apps holding ``verdict`` now (``ok``: none at all)."""
    query = HealthVerdict.select(HealthVerdict.app).where(HealthVerdict.cleared_at.is_null())
    if verdict in ("ok", "unhealthy"):
        return query
    return query.where(HealthVerdict.verdict == verdict)
