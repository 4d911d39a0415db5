"""Full-text search of the logs reads a stored word vector (PostgreSQL).

``logs.message_tsv`` is ``to_tsvector('simple', message)``, a generated column kept by
PostgreSQL on every write (COPY included), and the GIN index ``logs_message_tsv`` on it
replaces ``logs_message_fts`` (the same vector, as an expression index). With the vector
stored, testing a row is cheap, so for a common word the planner walks the newest rows
(the ``timestamp`` index, or ``(app_id, timestamp)``) and stops at a page of matches,
instead of reading every match from the index and sorting them (``search=timeout``, 1%
of 10,000,000 rows: 180-245 ms; bench/fleet_scale.py); a rare word still goes through
the GIN index. See ``control/logs/services.full_text``.

Adding a stored column rewrites the table under an exclusive lock: on a large ``logs``
table, run the upgrade in a quiet hour (minutes for 10,000,000 rows).

SQLite (its FTS5 table, migration 0001) and SQL Server (no full-text catalog) are
unchanged.
"""

from peewee import Database
from playhouse.migrate import PostgresqlMigrator, SchemaMigrator

COLUMN = "message_tsv"
INDEX = "logs_message_tsv"
OLD_INDEX = "logs_message_fts"


def up(migrator: SchemaMigrator, db: Database) -> None:
    if not isinstance(migrator, PostgresqlMigrator):
        return
    for sql in (
        # dropped first: the rewrite would rebuild it only to drop it
        f"DROP INDEX IF EXISTS {OLD_INDEX}",
        f"ALTER TABLE logs ADD COLUMN {COLUMN} tsvector"
        " GENERATED ALWAYS AS (to_tsvector('simple', message)) STORED",
        f"CREATE INDEX {INDEX} ON logs USING GIN ({COLUMN})",
        # the new column's statistics (how common each word is) choose the plan
        "ANALYZE logs",
    ):
        db.execute_sql(sql)  # type: ignore[no-untyped-call]  # peewee stub


def down(migrator: SchemaMigrator, db: Database) -> None:
    if not isinstance(migrator, PostgresqlMigrator):
        return
    for sql in (
        f"CREATE INDEX {OLD_INDEX} ON logs USING GIN (to_tsvector('simple', message))",
        f"DROP INDEX IF EXISTS {INDEX}",
        f"ALTER TABLE logs DROP COLUMN {COLUMN}",
    ):
        db.execute_sql(sql)  # type: ignore[no-untyped-call]  # peewee stub
