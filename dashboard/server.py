"""The WSGI entry point: ``gunicorn --workers 1 --threads 8 dashboard.server:server``.

One worker process: signed-in users' tokens live in its memory (``dashboard.sessions``).
"""

from __future__ import annotations

from dashboard.app import create_app

app = create_app()
server = app.server
