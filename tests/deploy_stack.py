"""The shipped deployment files run as an operator would: gunicorn with ``ops/gunicorn*.conf.py``
and Debian's nginx with ``ops/nginx/data-collector.conf``. Not a test module.

    api = Gunicorn("api", API_CONF, "control.cli.asgi:app", env, tmp_path).start()
    site = render_site(SITE, https_port=..., api_port=api.port, ...)
    with Nginx(site, tmp_path) as proxy: ...

Each process runs in its own process group and is killed with it at the end. The nginx
site is templated for ports and paths only (``render_site``): every directive that
decides behaviour (headers, limits, locations) is the shipped one.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import httpx

from tests.live_server import HOST, free_port

REPO = Path(__file__).resolve().parents[1]
GUNICORN = Path(sys.executable).with_name("gunicorn")
API_CONF = REPO / "ops" / "gunicorn.conf.py"
DASHBOARD_CONF = REPO / "ops" / "gunicorn-dashboard.conf.py"
SITE = REPO / "ops" / "nginx" / "data-collector.conf"
NGINX = Path("/usr/sbin/nginx")


def _answers(port: int, path: str | None) -> bool:
    """Whether the port takes connections (and ``path`` answers 200, when given): gunicorn's
    master listens before its workers have loaded the app."""
    if path is None:
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=1):
            return True
        return False
    with contextlib.suppress(httpx.HTTPError):
        return httpx.get(f"http://{HOST}:{port}{path}", timeout=2).status_code == 200
    return False


class Process:
    """A server in its own process group, output in ``<log_dir>/<name>.log``."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        env: Mapping[str, str],
        log_dir: Path,
        port: int,
        ready_path: str | None = None,
    ) -> None:
        self.name = name
        self.argv = argv
        self.env = dict(env)
        self.log_path = log_dir / f"{name}.log"
        self.port = port
        self.ready_path = ready_path
        self.popen: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def start(self, timeout: float = 30) -> Process:
        with self.log_path.open("ab") as out:
            self.popen = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=self.log_path.parent,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while not _answers(self.port, self.ready_path):
            if self.popen.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"{self.name} did not start:\n{self.output()[-4000:]}")
            time.sleep(0.1)
        return self

    def signal(self, sig: int) -> None:
        if self.popen is not None:
            with contextlib.suppress(ProcessLookupError):
                self.popen.send_signal(sig)

    def stop(self, timeout: float = 20) -> int | None:
        """SIGTERM (what systemd sends), wait, then kill the group; the return code."""
        if self.popen is None:
            return None
        if self.popen.poll() is None:
            self.signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=timeout)
        self.kill()
        return self.popen.returncode

    def kill(self) -> None:
        if self.popen is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=5)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def __enter__(self) -> Process:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def gunicorn(
    name: str,
    conf: Path,
    app: str,
    env: Mapping[str, str],
    log_dir: Path,
    port_var: str,
    ready_path: str,
) -> Process:
    """``gunicorn -c <conf> <app>`` on a free port (given to the config in ``port_var``)."""
    port = free_port()
    return Process(
        name,
        [str(GUNICORN), "-c", str(conf), app],
        {**env, port_var: str(port)},
        log_dir,
        port,
        ready_path,
    )


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (its own CA: clients verify against it) and its key."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def render_site(
    text: str,
    *,
    http_port: int,
    https_port: int,
    api_port: int,
    dashboard_port: int,
    cert: Path,
    key: Path,
    log_dir: Path,
) -> str:
    """The shipped site with its ports and paths replaced (loopback only), nothing else."""
    replacements = [
        (r"listen 80;", f"listen {HOST}:{http_port};"),
        (r"listen \[::\]:80;", f"listen [::1]:{http_port};"),
        (r"listen 443 ssl", f"listen {HOST}:{https_port} ssl"),
        (r"listen \[::\]:443 ssl", f"listen [::1]:{https_port} ssl"),
        (r"server 127\.0\.0\.1:8000;", f"server {HOST}:{api_port};"),
        (r"server 127\.0\.0\.1:8050;", f"server {HOST}:{dashboard_port};"),
        (r"ssl_certificate +\S+;", f"ssl_certificate {cert};"),
        (r"ssl_certificate_key +\S+;", f"ssl_certificate_key {key};"),
        (r"/var/log/nginx/", f"{log_dir}/"),
        (r"root /var/www/letsencrypt;", f"root {log_dir};"),
    ]
    for pattern, value in replacements:
        text, count = re.subn(pattern, value, text)
        assert count, f"the shipped nginx config no longer has {pattern!r}"
    return text


def nginx(site: str, directory: Path, port: int) -> Process:
    """Debian's nginx in the foreground with ``site`` in its http{} block, under ``directory``."""
    (directory / "nginx-temp").mkdir(exist_ok=True)
    (directory / "site.conf").write_text(site)
    temp = directory / "nginx-temp"
    main = f"""
user root;
worker_processes 1;
pid {directory}/nginx.pid;
error_log {directory}/nginx-main.error.log warn;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {directory}/site.conf;
}}
"""
    (directory / "nginx.conf").write_text(main)
    check = subprocess.run(
        [str(NGINX), "-t", "-p", str(directory), "-c", str(directory / "nginx.conf")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stderr
    return Process(
        "nginx",
        [
            str(NGINX),
            "-p",
            str(directory),
            "-c",
            str(directory / "nginx.conf"),
            "-g",
            "daemon off;",
        ],
        dict(os.environ),
        directory,
        port,
    )
