"""Identities, sessions, the revocation list and the audit log (frozen copies)."""

from peewee import (
    AutoField,
    BooleanField,
    CharField,
    Database,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)
from playhouse.migrate import SchemaMigrator


def up(migrator: SchemaMigrator, db: Database) -> None:
    class Base(Model):
        class Meta:
            database = db
            legacy_table_names = False

    class User(Base):
        id = AutoField()
        email = CharField(max_length=254, unique=True)
        password_hash = CharField(max_length=255)
        role = CharField(max_length=16, default="viewer")
        disabled = BooleanField(default=False)
        settings = TextField(default="{}")
        created = DateTimeField()
        updated = DateTimeField()
        password_changed = DateTimeField()
        last_login = DateTimeField(null=True)

        class Meta:
            table_name = "users"

    class ServiceClient(Base):
        id = AutoField()
        client_id = CharField(max_length=64, unique=True)
        name = CharField(max_length=100, unique=True)
        secret_hash = CharField(max_length=255)
        previous_secret_hash = CharField(max_length=255, null=True)
        previous_secret_expires = DateTimeField(null=True)
        role = CharField(max_length=16, default="service")
        disabled = BooleanField(default=False)
        created = DateTimeField()
        last_used = DateTimeField(null=True)

        class Meta:
            table_name = "service_client"

    class ApiKey(Base):
        id = AutoField()
        prefix = CharField(max_length=16, unique=True)
        key_hash = CharField(max_length=255)
        name = CharField(max_length=100)
        role = CharField(max_length=16)
        user = ForeignKeyField(User, column_name="user_id", on_delete="CASCADE")
        created = DateTimeField()
        last_used = DateTimeField(null=True)
        revoked = DateTimeField(null=True)

        class Meta:
            table_name = "api_key"

    class RefreshToken(Base):
        jti = CharField(max_length=64, primary_key=True)
        family = CharField(max_length=64, index=True)
        user = ForeignKeyField(User, column_name="user_id", on_delete="CASCADE")
        issued = DateTimeField()
        expires = DateTimeField()
        used = DateTimeField(null=True)
        revoked = BooleanField(default=False)

        class Meta:
            table_name = "refresh_token"

    class RevokedToken(Base):
        jti = CharField(max_length=80, primary_key=True)
        expires = DateTimeField(index=True)

        class Meta:
            table_name = "revoked_token"

    class AuditLog(Base):
        id = AutoField()
        at = DateTimeField()
        actor = CharField(max_length=254, default="anonymous")
        actor_type = CharField(max_length=16, default="anonymous")
        role = CharField(max_length=16, null=True)
        ip = CharField(max_length=64, null=True)
        action = CharField(max_length=64)
        method = CharField(max_length=8, null=True)
        endpoint = CharField(max_length=255, null=True)
        summary = TextField(default="{}")
        status = IntegerField(null=True)
        outcome = CharField(max_length=16)
        request_id = CharField(max_length=128, null=True)

        class Meta:
            table_name = "audit_log"
            indexes = (
                (("at",), False),
                (("actor", "at"), False),
                (("action", "at"), False),
            )

    db.create_tables([User, ServiceClient, ApiKey, RefreshToken, RevokedToken, AuditLog])


def down(migrator: SchemaMigrator, db: Database) -> None:
    for table in (
        "audit_log",
        "revoked_token",
        "refresh_token",
        "api_key",
        "service_client",
        "users",
    ):
        migrator.migrate(migrator.drop_table(table))
