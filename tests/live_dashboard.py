"""A real API (``dcctl serve``) and a real dashboard (``dcctl dashboard``) on free ports of
127.0.0.1, over a migrated SQLite file with users and a few apps. Not a test module.

    with DashboardStack(tmp_path) as stack:
        stack.add_user("op@example.com", Role.OPERATOR)
        httpx.get(stack.dashboard_url + "/dashboard/login")
"""

from __future__ import annotations

import os
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

from control.apps.models import Apps
from control.auth.models import User
from control.auth.roles import Role
from control.auth.users import create_user
from control.db.database import connect_url
from control.logs.models import Logs
from control.performance.models import FunctionLog
from control.pipelines.models import PipelineTask
from control.runtimes.models import Runtime
from tests import factories
from tests.live_server import DCCTL, HOST, LiveServer, free_port, migrated_sqlite, server_env

PASSWORD = "correct horse battery staple"
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class DashboardProcess:
    """``dcctl dashboard`` on a free port, pointed at ``api_url``."""

    def __init__(
        self, database_url: str, api_url: str, port: int, log_dir: Path, **extra: str
    ) -> None:
        self.port = port
        self.url = f"http://{HOST}:{port}"
        self.log_path = log_dir / "dashboard.log"
        self.env = server_env(
            database_url,
            DC_DASHBOARD_API_URL=api_url,
            DC_DASHBOARD_PORT=str(port),
            DC_DASHBOARD_REFRESH_SECONDS="1",
            **extra,
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30) -> DashboardProcess:
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [str(DCCTL), "dashboard"],
                env=self.env,
                cwd=self.log_path.parent,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dcctl dashboard exited:\n{self.log_text()[-4000:]}")
            try:
                with _opener.open(self.url + "/dashboard/login", timeout=2) as resp:
                    if resp.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"dcctl dashboard did not start:\n{self.log_text()[-4000:]}")

    def stop(self) -> int | None:
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait()
        return self.process.returncode

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class DashboardStack:
    """Database + API + dashboard; ``api_env`` adds settings for the API (e.g. Redis)."""

    def __init__(self, root: Path, **api_env: str) -> None:
        self.root = root
        self.database_url = migrated_sqlite(root / "dashboard.sqlite3")
        self.dashboard_port = free_port()
        self.dashboard_url = f"http://{HOST}:{self.dashboard_port}"
        self.api = LiveServer(
            self.database_url,
            log_dir=root,
            extra_env={
                "DC_CORS_ORIGINS": self.dashboard_url,
                "DC_AUTH_RATE_LIMIT_PER_MINUTE": "10000",
                "DC_RATE_LIMIT_PER_MINUTE": "10000",
                # the embedded agent would run the seeded apps on START; the tests
                # look at the commands, not at runs
                "DC_AGENT_EMBEDDED": "false",
                **api_env,
            },
        )
        self.dashboard: DashboardProcess | None = None

    def __enter__(self) -> DashboardStack:
        self.api.start()
        try:
            self.dashboard = DashboardProcess(
                self.database_url, self.api.url, self.dashboard_port, self.root
            ).start()
        except BaseException:
            self.api.kill()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.dashboard is not None:
            self.dashboard.stop()
        self.api.__exit__(exc_type, exc, tb)

    # -- data -----------------------------------------------------------------------

    def _bound(self, models: list[Any]) -> Any:
        db = connect_url(self.database_url)
        return db, db.bind_ctx(models)

    @staticmethod
    def _writing(db: Any) -> Any:
        """A transaction of the SQLite file that takes the write lock up front, as
        ``control.db.database.write_transaction`` does: a deferred one that reads and then
        writes fails at once ("database is locked") when the server's background jobs
        committed in between."""
        return db.atomic(lock_type="IMMEDIATE")

    def add_user(self, email: str, role: Role, password: str = PASSWORD) -> str:
        db, ctx = self._bound([User])
        with ctx:
            create_user(email, password, role)
        db.close()
        return email

    def add_apps(self, specs: list[dict[str, Any]]) -> list[str]:
        db, ctx = self._bound([Apps, Runtime, Logs])
        ids = []
        with ctx, self._writing(db):
            for spec in specs:
                ids.append(factories.make_app(**spec).id)
        db.close()
        return ids

    def update_app(self, app_id: str, **fields: Any) -> None:
        db, ctx = self._bound([Apps])
        with ctx:
            Apps.update(**fields).where(Apps.id == app_id).execute()
        db.close()

    def add_log(self, app_id: str, message: str, level: int = 20) -> None:
        db, ctx = self._bound([Logs])
        with ctx:
            Logs.create(app=app_id, level=level, message=message, timestamp=factories.BASE_TIME)
        db.close()

    def add_run_log(self, app_id: str, runtime: str, message: str, timestamp: Any) -> None:
        """A log line of one run (the Logs tab's run picker shows it for that run)."""
        db, ctx = self._bound([Logs])
        with ctx:
            Logs.create(app=app_id, runtime=runtime, level=20, message=message, timestamp=timestamp)
        db.close()

    def add_runtimes(self, app_id: str, specs: list[dict[str, Any]]) -> None:
        """Runs of one app (``started`` and ``status`` at least; ended 15 minutes later)."""
        db, ctx = self._bound([Apps, Runtime])
        with ctx, self._writing(db):
            app = Apps.get_by_id(app_id)
            for spec in specs:
                factories.make_runtime(app, **spec)
        db.close()

    def add_pipeline_tasks(self, specs: list[dict[str, Any]]) -> None:
        """Pipeline tasks (``app``, ``document_type``, ``status``, ``created``…)."""
        db, ctx = self._bound([PipelineTask])
        with ctx, self._writing(db):
            for n, spec in enumerate(specs):
                values: dict[str, Any] = {"document_ref": f"doc-{n}", "stage": "RECEIVED"}
                PipelineTask.create(**{**values, **spec})
        db.close()

    def add_function_logs(self, specs: list[dict[str, Any]]) -> None:
        """Timed function calls (``app``, ``function_name``, ``runtime_seconds``,
        ``task_size``, ``started``…)."""
        db, ctx = self._bound([FunctionLog])
        with ctx, self._writing(db):
            for spec in specs:
                FunctionLog.create(**spec)
        db.close()

    def command_flags(self, ids: list[str]) -> dict[str, str]:
        db, ctx = self._bound([Apps])
        with ctx:
            rows = {a.id: str(a.command_flag) for a in Apps.select().where(Apps.id.in_(ids))}
        db.close()
        return rows
