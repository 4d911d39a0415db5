"""The API's operations as typed methods: what ``dcctl`` and scripts call.

Each returns the answer's ``data`` (a dict, or an iterator over every item of a list,
fetching pages as it goes); the ``*_page`` variants return one page with its ``meta``.
Waiting helpers poll until something finished, calling ``on_update`` with each state.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any, Literal
from urllib.parse import quote

from dcclient.client import BaseClient, Json

BulkVerb = Literal["start", "stop", "command"]
BULK_DONE = ("completed", "failed", "cancelled")
POLL_SECONDS = 0.5


def _seg(value: str | int) -> str:
    """A path segment, percent-encoded (the API validates ids anyway)."""
    return quote(str(value), safe="")


class Client(BaseClient):
    """The Data Collector Control API."""

    # -- who am I --------------------------------------------------------------------------

    def me(self) -> Json:
        return dict(self.get("/auth/me")["data"])

    def logout(self) -> None:
        """End this session: its access token and its refresh token family."""
        self.post("/auth/logout")

    def health(self, detailed: bool = False) -> tuple[bool, Json]:
        """(healthy, report). Anonymous callers get the status only."""
        response = self.request(
            "GET", "/system/health", params={"detailed": detailed or None}, accept=(503,)
        )
        data = dict(response.json()["data"])
        return response.status_code == 200, data

    # -- apps and commands -----------------------------------------------------------------

    def apps_page(self, page: int = 1, per_page: int = 20, **filters: Any) -> Json:
        """One page of ``GET /apps`` (filters: group, parent, run_status, fatal_flag,
        disabled, is_service, q, health, sort)."""
        return self.get("/apps", page=page, per_page=per_page, **filters)

    def apps(self, **filters: Any) -> Iterator[Json]:
        return self.iter_pages("/apps", **filters)

    def app(self, app_id: str) -> Json:
        return dict(self.get(f"/apps/{_seg(app_id)}")["data"])

    def app_health(self, app_id: str) -> Json:
        """``GET /apps/{id}/health``: baseline, verdicts holding now, their history."""
        return dict(self.get(f"/apps/{_seg(app_id)}/health")["data"])

    def fleet_health(self) -> Json:
        """``GET /health/fleet``: per verdict, the apps holding it now."""
        return dict(self.get("/health/fleet")["data"])

    def command_app(self, app_id: str, verb: Literal["start", "stop", "reset"]) -> Json:
        """``POST /apps/{id}/{verb}``: the accepted command (``id``, ``status``, ``url``)."""
        return dict(self.post(f"/apps/{_seg(app_id)}/{verb}")["data"])

    def command(self, command_id: str) -> Json:
        return dict(self.get(f"/commands/{_seg(command_id)}")["data"])

    def wait_run(
        self,
        app_id: str,
        previous: str | None,
        *,
        timeout: float = 600.0,
        on_update: Callable[[Json], None] | None = None,
    ) -> Json:
        """The app's detail once a run other than ``previous`` (the ``last_runtime`` id
        read before the start command) has ended; ``TimeoutError`` after ``timeout``.
        Run ids, not times, tell the runs apart: a run's start is stored to the second."""

        def ended(app: Json) -> bool:
            last = app.get("last_runtime") or {}
            return bool(last.get("ended")) and last.get("runtime") != previous

        return self.poll_until(lambda: self.app(app_id), ended, timeout, on_update)

    def wait_command(
        self,
        command_id: str,
        *,
        timeout: float = 600.0,
        on_update: Callable[[Json], None] | None = None,
    ) -> Json:
        """The command once a manager acknowledged it (or it failed)."""
        done = ("acknowledged", "failed")
        return self.poll_until(
            lambda: self.command(command_id), lambda c: c["status"] in done, timeout, on_update
        )

    # -- bulk jobs -------------------------------------------------------------------------

    def bulk(
        self,
        verb: BulkVerb,
        filter: Json,  # the API's name for it
        *,
        command: str | None = None,
        dry_run: bool = False,
        idempotency_key: str | None = None,
        rate: float | None = None,
    ) -> Json:
        """Submit a bulk job (or a dry run: ``matched`` and ``app_ids``); ``rate``: apps
        per second at most."""
        body: Json = {"filter": filter, "dry_run": dry_run}
        if command is not None:
            body["command"] = command
        if rate is not None:
            body["rate"] = rate
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return dict(self.post(f"/bulk/{verb}", body, headers=headers)["data"])

    def bulk_job(self, job_id: str) -> Json:
        return dict(self.get(f"/bulk/jobs/{_seg(job_id)}")["data"])

    def cancel_bulk_job(self, job_id: str) -> Json:
        """Cancel a queued or running job (409 when it is finished); the job, cancelled."""
        return dict(self.post(f"/bulk/jobs/{_seg(job_id)}/cancel", {})["data"])

    def wait_bulk_job(
        self,
        job_id: str,
        *,
        timeout: float = 600.0,
        on_update: Callable[[Json], None] | None = None,
    ) -> Json:
        """The job once ``completed``, ``failed`` or ``cancelled``, with its per-app
        ``results``."""
        return self.poll_until(
            lambda: self.bulk_job(job_id), lambda j: j["status"] in BULK_DONE, timeout, on_update
        )

    # -- runs and logs ---------------------------------------------------------------------

    def runtimes_page(self, limit: int = 20, **filters: Any) -> Json:
        """One cursor page of ``GET /runtimes`` (app, status, from, to, cursor)."""
        return self.get("/runtimes", limit=limit, **filters)

    def runtimes(self, **filters: Any) -> Iterator[Json]:
        return self.iter_cursor("/runtimes", **filters)

    def runtime(self, runtime_id: str) -> Json:
        return dict(self.get(f"/runtimes/{_seg(runtime_id)}")["data"])

    def logs_page(self, limit: int = 100, **filters: Any) -> Json:
        """One cursor page of ``GET /logs`` (app, level, from, to, search, runtime)."""
        return self.get("/logs", limit=limit, **filters)

    def logs(self, **filters: Any) -> Iterator[Json]:
        return self.iter_cursor("/logs", **filters)

    def logs_export(
        self, fmt: Literal["ndjson", "csv"] = "ndjson", **filters: Any
    ) -> Iterator[str]:
        """``GET /logs/export``: the lines of the NDJSON or CSV file."""
        return self.stream_lines("/logs/export", format=fmt, **filters)

    # -- background jobs and notifications -------------------------------------------------

    def dead_jobs(self, requeued: bool | None = None) -> Iterator[Json]:
        return self.iter_pages("/jobs/dead", requeued=requeued)

    def requeue(self, job_id: int | str) -> Json:
        return dict(self.post(f"/jobs/dead/{_seg(job_id)}/requeue")["data"])

    def channels(self) -> Iterator[Json]:
        return self.iter_pages("/notifications/channels")

    def notify_test(self, channel_id: int | str) -> Json:
        """Queue a test message through a channel; the queued delivery."""
        return dict(self.post(f"/notifications/test/{_seg(channel_id)}")["data"])

    # -- the machinery ----------------------------------------------------------------------

    def agents(self) -> list[Json]:
        """``GET /system/agents``: every agent that ever beat, online ones first."""
        return list(self.get("/system/agents")["data"])

    def queues(self) -> Json:
        """``GET /system/queues``: queue depths per broker, the outbox backlog, ``errors``."""
        return dict(self.get("/system/queues")["data"])

    # -- waiting ----------------------------------------------------------------------------

    def poll_until(
        self,
        read: Callable[[], Json],
        done: Callable[[Json], bool],
        timeout: float,
        on_update: Callable[[Json], None] | None = None,
    ) -> Json:
        """``read()`` every half second until ``done(state)``; the last state.
        ``TimeoutError`` after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            state = read()
            if on_update is not None:
                on_update(state)
            if done(state):
                return state
            if time.monotonic() >= deadline:
                raise TimeoutError(f"still waiting after {timeout:g} s")
            self._sleep(POLL_SECONDS)
