"""The demo fleet generator: shape, internal consistency and determinism."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter
from peewee import Database

from control.apps.models import Apps
from control.clock import utcnow
from control.db import migrate
from control.db.database import init_database
from control.demo.seed import SeedSummary, make_apps, seed_demo
from control.enums import (
    CommandFlag,
    FatalFlag,
    PipelineStatus,
    RunStatus,
    RuntimeStatus,
)
from control.errors import Conflict
from control.logs.models import Logs
from control.performance.models import FunctionLog
from control.pipelines.models import PipelineTask
from control.runtimes.models import Runtime

NOW = dt.datetime(2025, 1, 15, 7, 30)
DAYS = 3
START = NOW - dt.timedelta(days=DAYS)
RUNTIME_ID = re.compile(r"^(\d{8}_\d{6})_(.+)$")
PREFIXES = ("scraper_", "etl_", "doc_", "monitor_", "service_")
STAGES = ["RECEIVED", "OCR", "NER", "VALIDATION", "STORED"]


def _bind(path: Path) -> Database:
    db = init_database(f"sqlite:///{path}")
    migrate.upgrade(db)
    return db


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    """A fresh, migrated SQLite database bound to the process-wide proxy."""
    database = _bind(tmp_path / "t.sqlite3")
    yield database
    database.close()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SeedSummary]:
    """One default demo fleet (fixed ``now``), seeded once for the read-only tests."""
    path = tmp_path_factory.mktemp("demo") / "fleet.sqlite3"
    database = _bind(path)
    summary = seed_demo(now=NOW)
    database.close()
    return path, summary


@pytest.fixture
def fleet(seeded: tuple[Path, SeedSummary]) -> Iterator[SeedSummary]:
    """Bind the seeded fleet for one test and hand over its summary."""
    path, summary = seeded
    database = _bind(path)
    yield summary
    database.close()


def _apps() -> list[Apps]:
    return list(Apps.select())


def _runtimes() -> dict[str, Runtime]:
    return {r.id: r for r in Runtime.select()}


def _window_end(run: Runtime) -> dt.datetime:
    return run.ended if run.ended is not None else run.heartbeat


def _dump(model: type) -> list[tuple]:
    return list(model.select().order_by(model._meta.primary_key).tuples())


# --------------------------------------------------------------------------- counts and shape


def test_summary_matches_the_tables(fleet: SeedSummary) -> None:
    assert fleet.apps == Apps.select().count()
    assert fleet.runtimes == Runtime.select().count()
    assert fleet.logs == Logs.select().count()
    assert fleet.function_logs == FunctionLog.select().count()
    assert fleet.pipeline_tasks == PipelineTask.select().count()


def test_default_volumes_are_roughly_as_documented(fleet: SeedSummary) -> None:
    assert fleet.apps == 72
    assert 1_000 <= fleet.runtimes <= 2_500
    assert 10_000 <= fleet.logs <= 25_000
    assert 3_000 <= fleet.function_logs <= 8_000
    assert 800 <= fleet.pipeline_tasks <= 2_500


def test_apps_spread_over_groups_and_parents(fleet: SeedSummary) -> None:
    apps = _apps()
    groups = Counter(a.group for a in apps)
    assert len(groups) >= 5
    assert {"de", "fr", "uk", "etl", "documents", "monitoring"} <= set(groups)
    for group in groups:
        parents = {a.parent for a in apps if a.group == group}
        assert len(parents) >= 2, group
    assert len({a.id for a in apps}) == len(apps)
    assert len({(a.group, a.parent, a.app) for a in apps}) == len(apps)


def test_app_names_read_like_machine_names(fleet: SeedSummary) -> None:
    apps = _apps()
    for app in apps:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", app.id), app.id
        assert app.app.startswith(PREFIXES), app.app
        assert app.id.startswith(app.app), (app.id, app.app)
        assert app.version == 1
    registry = Apps.get_by_id("scraper_company_registry_de")
    assert (registry.group, registry.parent, registry.app) == (
        "de",
        "registry",
        "scraper_company_registry",
    )
    scrapers = Apps.select().where(Apps.id ** "scraper_%").count()
    assert scrapers >= 20


def test_schedules_are_valid_crons_with_timezones(fleet: SeedSummary) -> None:
    for app in _apps():
        ZoneInfo(app.timezone)
        if app.is_service:
            assert app.schedule is None
            assert app.next_run is None
            continue
        assert len(app.schedule.split()) == 5
        assert croniter.is_valid(app.schedule), app.schedule
        if app.disabled or app.fatal_flag is FatalFlag.FATAL:
            assert app.next_run is None
        else:
            zone = ZoneInfo(app.timezone)
            local = NOW.replace(tzinfo=dt.UTC).astimezone(zone)
            expected = croniter(app.schedule, local).get_next(dt.datetime)
            assert app.next_run == expected.astimezone(dt.UTC).replace(tzinfo=None)
            assert NOW < app.next_run <= NOW + dt.timedelta(days=7)


def test_settings_are_small_and_hold_no_secrets(fleet: SeedSummary) -> None:
    for app in _apps():
        assert isinstance(app.settings, dict)
        assert 1 <= len(app.settings) <= 10
        text = str(app.settings).lower()
        for word in ("password", "secret", "token", "api_key"):
            assert word not in text, (app.id, word)
    assert Apps.get_by_id("scraper_company_registry_de").settings["base_url"].startswith("https://")


# --------------------------------------------------------------------------- states


def test_fleet_mixes_states(fleet: SeedSummary) -> None:
    apps = _apps()
    runtimes = _runtimes()
    statuses = Counter(a.run_status for a in apps)
    assert statuses[RunStatus.IDLE] > len(apps) / 2

    fatal = [a for a in apps if a.fatal_flag is FatalFlag.FATAL]
    assert 2 <= len(fatal) <= 4
    for app in fatal:
        assert app.fatal_reason
        assert app.consecutive_failures >= 3
        assert app.run_status is RunStatus.FAILED
        history = sorted(
            (r for r in runtimes.values() if r.app_id == app.id), key=lambda r: r.started
        )
        tail = history[-app.consecutive_failures :]
        assert all(r.status is RuntimeStatus.FAILED for r in tail)
        assert Logs.select().where((Logs.app == app.id) & (Logs.level == 50)).exists()

    assert any(a.disabled for a in apps)

    services = [a for a in apps if a.is_service]
    assert services
    assert all(a.run_status is RunStatus.RUNNING for a in services)

    commanded = {a.command_flag for a in apps if a.command_flag is not CommandFlag.NONE}
    assert {CommandFlag.START, CommandFlag.STOP} <= commanded
    for app in apps:
        if app.command_flag is not CommandFlag.NONE:
            assert START < app.command_updated <= NOW


def test_running_apps_report_live_progress(fleet: SeedSummary) -> None:
    runtimes = _runtimes()
    running = [a for a in _apps() if a.run_status is RunStatus.RUNNING and not a.is_service]
    assert len(running) >= 3
    for app in running:
        assert app.progress_total is not None
        assert 0 <= app.progress_current < app.progress_total
        assert NOW - dt.timedelta(minutes=1) <= app.progress_updated <= NOW
        current = runtimes[app.current_runtime]
        assert current.app_id == app.id
        assert current.status is RuntimeStatus.RUNNING
        assert current.ended is None
        assert NOW - dt.timedelta(minutes=1) <= current.heartbeat <= NOW
        assert current.records_total == app.progress_total
        assert current.records_solved + current.records_failed == app.progress_current


def test_runtime_pointers(fleet: SeedSummary) -> None:
    runtimes = _runtimes()
    for app in _apps():
        mine = sorted((r for r in runtimes.values() if r.app_id == app.id), key=lambda r: r.started)
        finished = [r for r in mine if r.status is not RuntimeStatus.RUNNING]
        live = [r for r in mine if r.status is RuntimeStatus.RUNNING]
        assert app.last_runtime == (finished[-1].id if finished else None)
        if app.run_status is RunStatus.RUNNING:
            assert [r.id for r in live] == [app.current_runtime]
        else:
            assert app.current_runtime is None
            assert live == []


# --------------------------------------------------------------------------- runtimes


def test_runtime_ids_name_their_start_and_app(fleet: SeedSummary) -> None:
    runtimes = _runtimes()
    assert len(runtimes) == fleet.runtimes
    for run in runtimes.values():
        match = RUNTIME_ID.match(run.id)
        assert match, run.id
        assert match.group(1) == run.started.strftime("%Y%m%d_%H%M%S")
        assert match.group(2) == run.app_id


def test_runtimes_are_consistent(fleet: SeedSummary) -> None:
    statuses: Counter[RuntimeStatus] = Counter()
    by_app: dict[str, list[Runtime]] = {}
    for run in Runtime.select():
        statuses[run.status] += 1
        by_app.setdefault(run.app_id, []).append(run)
        assert 0 <= run.records_solved + run.records_failed <= run.records_total
        assert run.trigger in ("schedule", "command")
        assert re.fullmatch(r"agent-\d", run.host)
        assert START <= run.started <= NOW
        if run.status is RuntimeStatus.RUNNING:
            assert run.ended is None
        else:
            assert run.started < run.ended <= NOW
            assert run.heartbeat == run.ended
        assert (run.error is not None) == (run.status is RuntimeStatus.FAILED)
    assert statuses[RuntimeStatus.COMPLETED] > 0.8 * sum(statuses.values())
    assert statuses[RuntimeStatus.FAILED] > 0
    assert statuses[RuntimeStatus.STOPPED] > 0
    for runs in by_app.values():  # one app never runs twice at once
        runs.sort(key=lambda r: r.started)
        for before, after in itertools.pairwise(runs):
            assert before.ended is not None
            assert before.ended <= after.started


# --------------------------------------------------------------------------- logs


def test_logs_lie_inside_their_runtime(fleet: SeedSummary) -> None:
    runtimes = _runtimes()
    levels: Counter[int] = Counter()
    for log in Logs.select():
        levels[log.level] += 1
        run = runtimes[log.runtime]
        assert log.app == run.app_id
        assert run.started <= log.timestamp <= _window_end(run), (log.id, run.id)
        assert log.message
        assert log.module
        assert log.function
    assert set(levels) == {10, 20, 30, 40, 50}
    assert levels[20] > levels[10] > levels[40]
    assert levels[30] > levels[50]


def test_every_runtime_has_a_few_log_lines(fleet: SeedSummary) -> None:
    per_run = Counter(runtime for (runtime,) in Logs.select(Logs.runtime).tuples())
    assert set(per_run) == set(_runtimes())
    assert min(per_run.values()) >= 2


def test_log_messages_read_like_collector_output(fleet: SeedSummary) -> None:
    messages = [m for (m,) in Logs.select(Logs.message).tuples()]
    for pattern in (
        r"^Fetched page \d+/\d+ from ",
        r"^Timeout after 30s on https://\S+, retrying \(\d/3\)$",
        r"^Parsed \d+ records$",
        r"^Validation failed for record \d+: ",
        r"^Run completed in ",
    ):
        assert any(re.search(pattern, m) for m in messages), pattern


# --------------------------------------------------------------------------- function logs


def test_function_logs_are_consistent(fleet: SeedSummary) -> None:
    runtimes = _runtimes()
    names = set()
    for call in FunctionLog.select():
        names.add(call.function_name)
        run = runtimes[call.runtime]
        assert call.app == run.app_id
        assert run.started <= call.started <= _window_end(run)
        assert call.runtime_seconds > 0
        assert 0 <= call.solved + call.failed <= call.task_size
    assert {"fetch_listing", "process_records", "parse_documents", "store_results"} <= names


# --------------------------------------------------------------------------- pipeline tasks


def test_pipeline_tasks_move_through_stages(fleet: SeedSummary) -> None:
    documents = {a.id for a in Apps.select().where(Apps.group == "documents")}
    runtimes = _runtimes()
    statuses: Counter[PipelineStatus] = Counter()
    for task in PipelineTask.select():
        statuses[task.status] += 1
        assert task.app in documents
        assert runtimes[task.runtime].app_id == task.app
        assert task.document_type in (
            "company_registration",
            "annual_report",
            "court_ruling",
            "invoice",
        )
        assert task.stage in STAGES
        assert START <= task.created <= NOW
        assert list(task.stage_durations) == STAGES[: len(task.stage_durations)]
        if task.started is not None:
            assert task.created <= task.started
        if task.status is PipelineStatus.COMPLETED:
            assert task.stage == "STORED"
            assert list(task.stage_durations) == STAGES
            assert task.duration_seconds == pytest.approx(sum(task.stage_durations.values()))
            assert task.started <= task.ended
            assert task.error is None
        elif task.status is PipelineStatus.FAILED:
            assert task.error
            assert task.error_stage in STAGES
            assert task.ended is not None
        elif task.status is PipelineStatus.RETRYING:
            assert task.retries > 0
            assert task.error
            assert task.ended is None
        elif task.status is PipelineStatus.PROCESSING:
            assert task.started is not None
            assert task.ended is None
        else:
            assert task.started is None
            assert task.stage == "RECEIVED"
    assert set(statuses) == set(PipelineStatus)
    assert statuses[PipelineStatus.COMPLETED] > 0.8 * sum(statuses.values())


# --------------------------------------------------------------------------- behaviour


def test_seeding_twice_is_refused(fleet: SeedSummary) -> None:
    with pytest.raises(Conflict):
        seed_demo(now=NOW)
    assert Apps.select().count() == fleet.apps
    assert Runtime.select().count() == fleet.runtimes


def test_same_seed_and_now_give_identical_data(tmp_path: Path) -> None:
    dumps = []
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        database = _bind(tmp_path / f"{name}.sqlite3")
        seed_demo(apps=30, days=1, seed=seed, now=NOW)
        dumps.append([_dump(m) for m in (Apps, Runtime, Logs, FunctionLog, PipelineTask)])
        database.close()
    assert dumps[0] == dumps[1]
    assert dumps[0] != dumps[2]


def test_default_now_is_the_current_time(db: Database) -> None:
    before = utcnow().replace(microsecond=0)
    summary = seed_demo(apps=12, days=1)
    after = utcnow()
    assert summary.apps == 12
    latest = Runtime.select().order_by(Runtime.started.desc()).first()
    assert before - dt.timedelta(days=1) <= latest.started <= after
    newest_log = Logs.select().order_by(Logs.timestamp.desc()).first()
    assert newest_log.timestamp <= after


def test_make_apps_scales_to_many_unique_apps(db: Database) -> None:
    rows = make_apps(10_000, now=NOW)
    assert len(rows) == 10_000
    assert len({r["id"] for r in rows}) == 10_000
    assert all(len(r["id"]) <= 128 for r in rows)
    assert all(isinstance(r, dict) for r in rows)
    assert make_apps(10, now=NOW) == make_apps(10, now=NOW)
    with db.atomic():
        for start in range(0, len(rows), 500):
            Apps.insert_many(rows[start : start + 500]).execute()
    assert Apps.select().count() == 10_000
    assert Apps.select().where(Apps.id == "scraper_company_registry_de_2").exists()
    assert Apps.select().where(Apps.fatal_flag == FatalFlag.FATAL).count() > 100
