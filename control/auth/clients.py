"""Managing service clients for the OAuth2 client-credentials flow."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass

from control.auth import passwords
from control.auth.models import ServiceClient
from control.auth.principal_cache import forget_all
from control.auth.roles import Role
from control.clock import utcnow
from control.errors import Conflict, InvalidInput, NotFound

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,99}$")


@dataclass(frozen=True)
class ClientSecret:
    """A client and its secret, shown exactly once."""

    client: ServiceClient
    secret: str


def create_client(name: str, role: Role = Role.SERVICE) -> ClientSecret:
    """Register a client; its secret is returned once and stored only as a hash."""
    if not NAME.match(name):
        raise InvalidInput("Client names are 1-100 letters, digits, spaces, . _ -", field="name")
    if ServiceClient.select().where(ServiceClient.name == name).exists():
        raise Conflict(f"A client named {name!r} exists.", field="name")
    secret = secrets.token_urlsafe(32)
    client = ServiceClient.create(
        client_id=f"dcc_{secrets.token_hex(10)}",
        name=name,
        secret_hash=passwords.hash_secret(secret),
        role=role,
    )
    return ClientSecret(client, secret)


def _get(name_or_id: str) -> ServiceClient:
    client = ServiceClient.get_or_none(
        (ServiceClient.name == name_or_id) | (ServiceClient.client_id == name_or_id)
    )
    if client is None:
        raise NotFound(f"No service client {name_or_id!r}.")
    return client


def rotate_secret(name_or_id: str, grace: dt.timedelta = dt.timedelta(hours=24)) -> ClientSecret:
    """A new secret; the old one keeps working for ``grace`` so deployments can roll."""
    client = _get(name_or_id)
    secret = secrets.token_urlsafe(32)
    client.previous_secret_hash = client.secret_hash
    client.previous_secret_expires = utcnow() + grace
    client.secret_hash = passwords.hash_secret(secret)
    client.save()
    return ClientSecret(client, secret)


def set_disabled(name_or_id: str, disabled: bool) -> ServiceClient:
    """Disable or enable a client; when disabled, its tokens stop working at once in this
    process, in the others within ``DC_PRINCIPAL_CACHE_SECONDS``."""
    client = _get(name_or_id)
    client.disabled = disabled
    client.save()
    forget_all()
    return client
