"""``logs`` partitioned by day on ``"timestamp"``, ``function_log`` by week on ``started``
(PostgreSQL; docs/scaling.md, docs/operations.md "Partitions").

Each table is recreated as ``PARTITION BY RANGE`` with the same columns (the generated
``logs.message_tsv`` of migration 0016 included), defaults and id sequence (its value
kept), every index declared on the parent (so each partition has its own) and a
``DEFAULT`` partition for rows outside every created range, so an insert never fails.
The primary key becomes ``(id, <time column>)``: PostgreSQL requires the partition key in
every unique index; ids still come from the one sequence. No foreign key refers to
either table, and neither has one of its own.

Partitions are created (``control.maintenance.partitions``) from the day (week) of the
oldest row, but not further back than the retention (``DC_RETENTION_LOGS_DAYS``,
``DC_RETENTION_FUNCTION_LOGS_DAYS``), up to ``AHEAD_DAYS`` ahead; on a new, empty table
from today. Older rows land in the default partition, where retention's batched
``DELETE`` removes them. Then the rows are copied (``INSERT ... SELECT``) and the old
table dropped.

The copy rewrites both tables under an exclusive lock, in the migration's transaction:
on a large table that takes long (docs/operations.md says how to upgrade one). ``down``
restores plain tables with the rows.

SQLite and SQL Server keep plain tables: nothing to do there.
"""

import datetime as dt

from peewee import Database
from playhouse.migrate import PostgresqlMigrator, SchemaMigrator

from control.clock import utcnow
from control.errors import ConfigurationError
from control.maintenance import partitions
from control.settings import Settings, get_settings

TABLES = (("logs", '"timestamp"'), ("function_log", "started"))


def _sql(db: Database, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    cursor = db.execute_sql(sql, params)  # type: ignore[no-untyped-call]  # peewee stub
    return list(cursor.fetchall()) if cursor.description else []


def _index_definitions(db: Database, table: str) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of every index of ``table`` but its primary key,
    as statements that build the index on a plain or a partitioned table alike."""
    rows = _sql(
        db,
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = current_schema()"
        " AND i.tablename = %s AND i.indexname NOT IN (SELECT conname FROM pg_constraint"
        " WHERE conrelid = to_regclass(%s) AND contype = 'p') ORDER BY i.indexname",
        (table, table),
    )
    # a partitioned table's own index reads "ON ONLY": built on the parent alone
    return [(str(name), str(sql).replace(" ON ONLY ", " ON ")) for name, sql in rows]


def _copyable_columns(db: Database, table: str) -> str:
    """The columns of ``table`` an INSERT can write (not the generated ones), in order."""
    rows = _sql(
        db,
        "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attnum > 0"
        " AND NOT attisdropped AND attgenerated = '' ORDER BY attnum",
        (table,),
    )
    return ", ".join(f'"{name}"' for (name,) in rows)


def _rebuild(db: Database, table: str, partition_by: str | None, primary_key: str) -> None:
    """Recreate ``table`` (partitioned by ``partition_by``, or plain when None) with the
    same columns, defaults, sequence and indexes, and its rows."""
    old = f"{table}_rebuilt_from"
    indexes = _index_definitions(db, table)
    (sequence,) = _sql(db, "SELECT pg_get_serial_sequence(%s, 'id')", (table,))[0]
    # the sequence outlives the old table (dropping a table drops the sequences it owns)
    _sql(db, f"ALTER SEQUENCE {sequence} OWNED BY NONE")
    _sql(db, f"ALTER TABLE {table} RENAME TO {old}")
    for name, _ in indexes:
        _sql(db, f'DROP INDEX "{name}"')
    _sql(db, f"ALTER TABLE {old} DROP CONSTRAINT {table}_pkey")
    layout = f" PARTITION BY RANGE ({partition_by})" if partition_by else ""
    _sql(
        db,
        f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS INCLUDING GENERATED"
        f" INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMMENTS){layout}",
    )
    if partition_by:
        _sql(db, f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")
        scheme = next(s for s in partitions.SCHEMES if s.table == table)
        _create_partitions(db, scheme, old)
    columns = _copyable_columns(db, old)
    _sql(db, f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {old}")
    _sql(db, f"ALTER TABLE {table} ADD CONSTRAINT {table}_pkey PRIMARY KEY ({primary_key})")
    for _, definition in indexes:
        _sql(db, definition)
    _sql(db, f"ALTER SEQUENCE {sequence} OWNED BY {table}.id")
    _sql(db, f"DROP TABLE {old}")
    _sql(db, f"ANALYZE {table}")


def _retention_days(scheme: partitions.Scheme) -> int:
    name = "retention_logs_days" if scheme is partitions.LOGS else "retention_function_logs_days"
    try:
        days: int = getattr(get_settings(), name)
    except ConfigurationError:  # settings the migration does not need are missing
        days = Settings.model_fields[name].default
    return days


def _create_partitions(db: Database, scheme: partitions.Scheme, old: str) -> None:
    days = _retention_days(scheme)
    now = utcnow()
    (oldest,) = _sql(db, f'SELECT min("{scheme.column}") FROM {old}')[0]
    first = max(oldest, now - dt.timedelta(days=days)) if isinstance(oldest, dt.datetime) else now
    # the migration's own transaction: no lock to wait for on the new table
    partitions.ensure_partitions(
        scheme,
        min(first, now),
        now + dt.timedelta(days=partitions.AHEAD_DAYS),
        db,
        lock_timeout_ms=None,
    )


def up(migrator: SchemaMigrator, db: Database) -> None:
    if not isinstance(migrator, PostgresqlMigrator):
        return
    for table, column in TABLES:
        _rebuild(db, table, column, f"id, {column}")


def down(migrator: SchemaMigrator, db: Database) -> None:
    if not isinstance(migrator, PostgresqlMigrator):
        return
    for table, _ in TABLES:
        _rebuild(db, table, None, "id")
