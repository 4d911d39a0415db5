"""Versioned schema migrations (peewee's ``playhouse.migrations`` runner).

Migrations are numbered scripts in ``control/db/migrations``; each defines
``up(migrator, db)`` with frozen model copies and any dialect-specific SQL. The same
scripts run on SQLite, PostgreSQL and MSSQL.
"""

from __future__ import annotations

from pathlib import Path

from peewee import Database
from playhouse.migrations import Migration, Runner

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def runner(db: Database) -> Runner:
    """A migration runner bound to ``db`` and this package's migration scripts."""
    return Runner(db, directory=str(MIGRATIONS_DIR), table_name="schema_migration")


def upgrade(db: Database) -> list[str]:
    """Apply every pending migration in order; return the names applied."""
    applied: list[str] = runner(db).up()  # playhouse has no types
    return applied


def status(db: Database) -> list[Migration]:
    """Every known migration with when it was applied (None when pending)."""
    migrations: list[Migration] = runner(db).status()
    return migrations


def pending(db: Database) -> list[str]:
    """Names of migrations not yet applied."""
    return [m.name for m in status(db) if not m.applied and m.path is not None]
