"""The base every model derives from: bound to the one database proxy.

Models live in their concept's ``models.py`` and import only this module, the fields
and the clock; :mod:`control.db.registry` lists them all. Schema changes go through
``control/db/migrations``; the model classes describe the current schema and are never
used to create tables on a live database.
"""

from __future__ import annotations

from peewee import Model

from control.db.database import database


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False
