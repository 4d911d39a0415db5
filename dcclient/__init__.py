"""A typed Python client of the Data Collector Control API (``/api/v1``).

::

    from dcclient import Client, PasswordAuth

    with Client("http://127.0.0.1:8000", PasswordAuth("ops@example.com", password)) as api:
        for app in api.apps(group="de", fatal_flag="FATAL"):
            print(app["id"])

It speaks HTTP only: nothing here imports the server's packages.
"""

from __future__ import annotations

from dcclient.api import Client
from dcclient.auth import (
    ApiKeyAuth,
    Auth,
    ClientCredentialsAuth,
    PasswordAuth,
    TokenAuth,
    Tokens,
)
from dcclient.client import BaseClient
from dcclient.errors import ApiError, FieldError

__all__ = [
    "ApiError",
    "ApiKeyAuth",
    "Auth",
    "BaseClient",
    "Client",
    "ClientCredentialsAuth",
    "FieldError",
    "PasswordAuth",
    "TokenAuth",
    "Tokens",
]
