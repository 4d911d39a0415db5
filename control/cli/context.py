"""Shared start-up for commands: settings, logging and the database binding."""

from __future__ import annotations

import click
from peewee import Database, PeeweeException

from control.db.database import database, init_database
from control.errors import ConfigurationError
from control.log_context import configure_logging
from control.settings import Settings, get_settings


def settings() -> Settings:
    """The settings, or exit 2 with the one-line reason."""
    try:
        return get_settings()
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from None


def bind_database() -> Database:
    """Settings, logging and a connected database, or a one-line error."""
    conf = settings()
    configure_logging(conf.log_level)
    db = database.obj if database.obj is not None else init_database(conf.database_url)
    try:
        db.connect(reuse_if_open=True)
    except PeeweeException as exc:
        raise click.ClickException(
            f"cannot connect to the database: {type(exc).__name__}"
        ) from None
    return db


__all__ = ["ConfigurationError", "bind_database", "settings"]
