"""Shared start-up for commands: settings, logging and the database binding."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType

import click
from peewee import Database, PeeweeException

from control.db import migrate
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
    configure_logging(conf.log_level, conf.access_log_level)
    db = database.obj if database.obj is not None else init_database(conf.database_url)
    try:
        db.connect(reuse_if_open=True)
    except PeeweeException as exc:
        raise click.ClickException(
            f"cannot connect to the database: {type(exc).__name__}"
        ) from None
    return db


def bind_migrated_database() -> Database:
    """``bind_database``, then refuse to go on while a migration is pending (a process
    must never run against a schema older than its code). The connection is closed."""
    db = bind_database()
    waiting = migrate.pending(db)
    db.close()
    if waiting:
        raise click.ClickException(
            f"{len(waiting)} migration(s) pending ({', '.join(waiting)}); run 'dcctl db upgrade'"
        )
    return db


def stop_on_signals(name: str, also: Callable[[], None] | None = None) -> threading.Event:
    """An event set by SIGTERM or SIGINT (logged as ``<name> stopping``); ``also`` runs
    then too, e.g. to wake a loop from its wait."""
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        logging.getLogger(f"dcctl.{name}").info("%s stopping (signal %s)", name, signum)
        stop.set()
        if also is not None:
            also()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    return stop


__all__ = [
    "ConfigurationError",
    "bind_database",
    "bind_migrated_database",
    "settings",
    "stop_on_signals",
]
