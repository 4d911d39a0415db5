"""Tables of the control plane's identities and sessions."""

from __future__ import annotations

from peewee import (
    AutoField,
    BooleanField,
    CharField,
    DateTimeField,
    ForeignKeyField,
)

from control.auth.roles import Role
from control.clock import utcnow
from control.db.base import BaseModel
from control.db.fields import EnumField, JSONField


class User(BaseModel):
    """A human operator who logs in with email and password."""

    id = AutoField()
    email = CharField(max_length=254, unique=True)
    password_hash = CharField(max_length=255)
    role = EnumField(Role, default=Role.VIEWER)
    disabled = BooleanField(default=False)
    settings = JSONField(default=dict)  # timezone, display preferences
    created = DateTimeField(default=utcnow)
    updated = DateTimeField(default=utcnow)
    password_changed = DateTimeField(default=utcnow)
    last_login = DateTimeField(null=True)

    class Meta:
        table_name = "users"


class ServiceClient(BaseModel):
    """An automated client using the OAuth2 client-credentials flow."""

    id = AutoField()
    client_id = CharField(max_length=64, unique=True)
    name = CharField(max_length=100, unique=True)
    secret_hash = CharField(max_length=255)
    # the previous secret stays valid until this time, so rotation needs no downtime
    previous_secret_hash = CharField(max_length=255, null=True)
    previous_secret_expires = DateTimeField(null=True)
    role = EnumField(Role, default=Role.SERVICE)
    disabled = BooleanField(default=False)
    created = DateTimeField(default=utcnow)
    last_used = DateTimeField(null=True)

    class Meta:
        table_name = "service_client"


class ApiKey(BaseModel):
    """A user's long-lived key for the ``X-API-Key`` header; only its hash is stored."""

    id = AutoField()
    prefix = CharField(max_length=16, unique=True)  # public, for lookup
    key_hash = CharField(max_length=255)
    name = CharField(max_length=100)
    role = EnumField(Role)
    user = ForeignKeyField(User, column_name="user_id", on_delete="CASCADE", backref="api_keys")
    created = DateTimeField(default=utcnow)
    last_used = DateTimeField(null=True)
    revoked = DateTimeField(null=True)

    class Meta:
        table_name = "api_key"


class RefreshToken(BaseModel):
    """One issued refresh token; a family is one login's chain of rotations."""

    jti = CharField(max_length=64, primary_key=True)
    family = CharField(max_length=64, index=True)
    user = ForeignKeyField(User, column_name="user_id", on_delete="CASCADE")
    user_id: int  # the key's raw value, which peewee adds beside ``user``
    issued = DateTimeField(default=utcnow)
    expires = DateTimeField()
    used = DateTimeField(null=True)
    revoked = BooleanField(default=False)

    class Meta:
        table_name = "refresh_token"


class RevokedToken(BaseModel):
    """The revocation list when Redis is not configured: ids kept until they expire."""

    jti = CharField(max_length=80, primary_key=True)
    expires = DateTimeField(index=True)

    class Meta:
        table_name = "revoked_token"
