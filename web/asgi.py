"""ASGI entry point: ``gunicorn -k uvicorn_worker.UvicornWorker web.asgi:app``."""

from web.app import create_app

app = create_app()
