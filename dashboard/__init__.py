"""The Dash dashboard: its own process, a client of the REST API (docs/dashboard.md).

``dashboard.server:server`` is the Flask (WSGI) application for gunicorn; ``dcctl
dashboard`` runs it for development and the demo. Nothing here touches the database: every
figure comes from ``/api/v1`` with the signed-in user's token, so the API decides what
each user may see and do.
"""
