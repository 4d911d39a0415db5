"""Database access: connection from settings, models, migrations."""

from control.db.database import database, init_database

__all__ = ["database", "init_database"]
