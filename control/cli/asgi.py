"""The ASGI entry point: ``gunicorn -c ops/gunicorn.conf.py control.cli.asgi:app``.

Importing it builds the app (``control/cli/webapp.py``): the broker, the actors, the API.
"""

from control.cli.webapp import build_app

app = build_app()
