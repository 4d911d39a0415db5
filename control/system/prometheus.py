"""Prometheus metrics of the control plane, in the text format (``GET /metrics``).

Built on ``prometheus_client`` (the text format, histograms and multi-process
aggregation are its job). Two kinds of figures:

* **per process**, counted by the web middleware on every request:
  ``dc_http_requests_total{method, route, status}`` (status class: ``2xx``...) and
  ``dc_http_request_duration_seconds{method, route}`` (a histogram). ``route`` is the
  route *template* (``/api/v1/apps/{app_id}``), never the raw path, so the number of
  series stays bounded; an unrouted request is ``<unmatched>``, the documentation's
  static files ``<static>``.
* **from the database at scrape time** (:class:`DatabaseCollector`), the same for
  whichever process answers: ``dc_apps{run_status}``, ``dc_apps_fatal``,
  ``dc_apps_disabled``, ``dc_app_health{verdict}`` (apps holding each health verdict),
  ``dc_pipeline_tasks_last_hour{document_type, status}``,
  ``dc_commands_pending``, ``dc_outbox_unpublished``, ``dc_outbox_lag_seconds`` (age of
  the oldest unpublished outbox row, 0 when none) and ``dc_collector_up{part}``: 0 when
  a part could not be read (its figures are left out, the rest still answer).
* **from the broker at scrape time** (RabbitMQ or Redis only):
  ``dc_dead_letter_messages{queue}``, the messages in each queue's ``.XQ`` (dead while
  the database was down, so not in ``/api/v1/jobs/dead``), and ``dc_dead_letters_up``;
  ``dc_queue_messages{queue, kind}`` and ``dc_queue_consumers{queue, kind}`` of every
  queue (Dramatiq's, their ``.DQ``/``.XQ``, the agents' command queues) and
  ``dc_queues_up`` (``control/system/queue_report.py``).

Several workers: without configuration each gunicorn worker keeps its own request
counters and a scrape sees the worker that answered it (use ``rate()``/``sum()`` over
the ``instance`` you scrape, or scrape each worker). To aggregate across workers, start
the server with ``PROMETHEUS_MULTIPROC_DIR`` pointing at an empty, writable directory
(wiped at each start): the counters then live in files there and every scrape sums all
workers (prometheus_client's multiprocess mode; no per-process collectors then).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Callable, Iterable
from typing import Any

from peewee import PeeweeException, fn
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from control import __version__
from control.apps.models import Apps
from control.clock import utcnow
from control.db.database import database
from control.enums import FatalFlag, PipelineStatus, RunStatus
from control.health.services import verdict_counts
from control.pipelines.models import PipelineTask
from control.querying import tuples
from control.system.queue_report import QueueCollector, QueueReport
from control.system.queues import DeadLetterCollector, DeadLetterQueues

try:  # the commands area (control/commands) may not be installed in every build
    from control.commands.models import Command, CommandStatus, Outbox
except ImportError:  # pragma: no cover - exercised only without control.commands
    Command = CommandStatus = Outbox = None  # type: ignore[assignment,misc]

log = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_LATEST
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "<unmatched>"
STATIC = "<static>"
MAX_CACHED_SERIES = 10_000  # (method, route, status) triples whose children are kept
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
MAX_DOCUMENT_TYPES = 100  # label values per scrape, most active first
PIPELINE_WINDOW = dt.timedelta(hours=1)


def status_class(status: int) -> str:
    """``2xx``, ``4xx``... (the exact code would multiply the series)."""
    return f"{max(1, min(status // 100, 5))}xx"


def method_label(method: str) -> str:
    return method if method in METHODS else "OTHER"


class DatabaseCollector:
    """Fleet figures read from the database when scraped (a custom collector)."""

    def __init__(self, clock: Callable[[], dt.datetime] = utcnow) -> None:
        self.clock = clock

    def describe(self) -> Iterable[Metric]:
        return []  # registering must not query the database

    def collect(self) -> Iterable[Metric]:
        families: list[Metric] = []
        up = GaugeMetricFamily(
            "dc_collector_up", "1 when the part's figures could be read", labels=["part"]
        )
        parts: list[tuple[str, Callable[[], list[Metric]]]] = [
            ("apps", self._apps),
            ("pipelines", self._pipelines),
            ("health", self._health),
        ]
        if Command is not None and Outbox is not None:
            parts.append(("commands", self._commands))
        with database.connection_context():
            for name, read in parts:
                try:
                    families += read()
                    up.add_metric([name], 1)
                except PeeweeException as exc:
                    log.warning("metrics: %s not read: %s", name, type(exc).__name__)
                    up.add_metric([name], 0)
        info = GaugeMetricFamily(
            "dc_build_info", "version of the control plane", labels=["version"]
        )
        info.add_metric([__version__], 1)
        return [*families, up, info]

    @staticmethod
    def _apps() -> list[Metric]:
        by_status = GaugeMetricFamily("dc_apps", "apps by run status", labels=["run_status"])
        counts = dict(
            tuples(Apps.select(Apps.run_status, fn.COUNT(Apps.id)).group_by(Apps.run_status))
        )
        for status in RunStatus:
            by_status.add_metric([status.value], int(counts.get(status, 0)))
        fatal = Apps.select().where(Apps.fatal_flag == FatalFlag.FATAL).count()
        disabled = Apps.select().where(Apps.disabled == True).count()  # noqa: E712 - SQL
        return [
            by_status,
            GaugeMetricFamily("dc_apps_fatal", "apps blocked by a fatal error", value=fatal),
            GaugeMetricFamily("dc_apps_disabled", "apps disabled", value=disabled),
        ]

    @staticmethod
    def _health() -> list[Metric]:
        family = GaugeMetricFamily(
            "dc_app_health", "apps holding each health verdict now", labels=["verdict"]
        )
        for verdict, count in verdict_counts().items():
            family.add_metric([verdict], count)
        return [family]

    def _pipelines(self) -> list[Metric]:
        family = GaugeMetricFamily(
            "dc_pipeline_tasks_last_hour",
            "pipeline tasks that completed or failed in the last hour",
            labels=["document_type", "status"],
        )
        since = self.clock() - PIPELINE_WINDOW
        finished = fn.COALESCE(PipelineTask.ended, PipelineTask.updated)
        total = fn.COUNT(PipelineTask.id)
        rows = tuples(
            PipelineTask.select(PipelineTask.document_type, PipelineTask.status, total)
            .where(
                PipelineTask.status.in_([PipelineStatus.COMPLETED, PipelineStatus.FAILED]),
                finished >= since,
            )
            .group_by(PipelineTask.document_type, PipelineTask.status)
            .order_by(total.desc(), PipelineTask.document_type.asc())
            .limit(MAX_DOCUMENT_TYPES * 2)
        )
        for document_type, status, count in rows:
            family.add_metric([document_type, PipelineStatus(status).value.lower()], int(count))
        return [family]

    def _commands(self) -> list[Metric]:
        assert Command is not None
        assert Outbox is not None
        assert CommandStatus is not None
        pending = Command.select().where(Command.status == CommandStatus.PENDING).count()
        unpublished = Outbox.select().where(Outbox.published_at.is_null())
        oldest = unpublished.order_by(Outbox.id.asc()).limit(1).first()
        lag = 0.0
        if oldest is not None:
            lag = max(0.0, (self.clock() - oldest.created).total_seconds())
        return [
            GaugeMetricFamily("dc_commands_pending", "commands not yet published", value=pending),
            GaugeMetricFamily(
                "dc_outbox_unpublished", "outbox rows not yet published", value=unpublished.count()
            ),
            GaugeMetricFamily(
                "dc_outbox_lag_seconds", "age of the oldest unpublished outbox row", value=lag
            ),
        ]


class PrometheusMetrics:
    """The web process's metrics: request counters, and the registry a scrape reads."""

    def __init__(
        self,
        *,
        database_collector: DatabaseCollector | None = None,
        dead_letters: DeadLetterQueues | None = None,
        queues: QueueReport | None = None,
    ) -> None:
        self.multiprocess_dir = os.environ.get(MULTIPROC_ENV) or None
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "dc_http_requests",
            "HTTP requests by method, route template and status class",
            ("method", "route", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "dc_http_request_duration_seconds",
            "HTTP request latency by method and route template",
            ("method", "route"),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        # the labelled children of a (method, route, status) seen before: labels() on
        # every request costs more than the counting (bounded: routes are templates)
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self.database = database_collector or DatabaseCollector()
        # the brokers' .XQ depths (control/system/queues.py), read at scrape time
        self.dead_letters = DeadLetterCollector(dead_letters) if dead_letters else None
        # every queue's depth and consumers (control/system/queue_report.py)
        has_queues = queues is not None and (queues.work or queues.commands)
        self.queues = QueueCollector(queues) if queues is not None and has_queues else None
        if not self.multiprocess_dir:
            self.registry.register(self.database)
            if self.dead_letters is not None:
                self.registry.register(self.dead_letters)
            if self.queues is not None:
                self.registry.register(self.queues)
            ProcessCollector(registry=self.registry)
            PlatformCollector(registry=self.registry)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request."""
        series = self._series.get((method, route, status))
        if series is None:
            label = method_label(method)
            series = (
                self.requests.labels(label, route, status_class(status)),
                self.latency.labels(label, route),
            )
            if len(self._series) < MAX_CACHED_SERIES:
                self._series[(method, route, status)] = series
        counter, histogram = series
        counter.inc()
        histogram.observe(max(0.0, seconds))

    def exposition(self) -> bytes:
        """The text format of every metric (blocking: reads the database)."""
        if self.multiprocess_dir:
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=self.multiprocess_dir)  # type: ignore[no-untyped-call]  # unannotated upstream
            registry.register(self.database)
            if self.dead_letters is not None:
                registry.register(self.dead_letters)
            if self.queues is not None:
                registry.register(self.queues)
            return generate_latest(registry)
        return generate_latest(self.registry)


def sample_value(text: str, name: str, labels: dict[str, str] | None = None) -> float | None:
    """The value of one sample in an exposition (for tests and tooling); None if absent."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and (labels is None or _matches(sample.labels, labels)):
                return float(sample.value)
    return None


def _matches(have: dict[str, Any], want: dict[str, str]) -> bool:
    return all(have.get(k) == v for k, v in want.items())
