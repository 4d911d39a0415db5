"""The SQL peewee sends: ``captured_sql()`` collects each (sql, params) meanwhile, for
tests that check which statement (and which plan) a service uses."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[tuple[str, tuple[Any, ...]]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if isinstance(record.msg, tuple) and len(record.msg) == 2:
            sql, params = record.msg
            self.statements.append((str(sql), tuple(params or ())))


@contextmanager
def captured_sql() -> Iterator[list[tuple[str, tuple[Any, ...]]]]:
    """The (sql, params) peewee sends meanwhile."""
    logger = logging.getLogger("peewee")
    handler = _Capture()
    level, propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield handler.statements
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate
