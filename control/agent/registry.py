"""Which callable runs an app: entry points, ``DC_AGENT_APPS`` and the app's settings.

An app is a callable taking one argument, the run's ``AppContext``. It is registered
under a name, either by a package's entry point in the group ``data_collector.apps``::

    [project.entry-points."data_collector.apps"]
    scraper_company_registry = "collectors.registry:run"

or, for quick starts, by the setting ``DC_AGENT_APPS`` (``name=module:callable`` pairs,
comma-separated), which wins over an entry point of the same name.

An ``Apps`` row resolves to the name in ``settings["entrypoint"]`` when present, else to
its ``app`` column. Only registered names resolve: the app settings are editable over the
API, so they may pick among the callables the host registered but never name a module
to import.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from importlib import metadata
from typing import Any, cast

from control.agent.errors import AppNotRegistered
from control.errors import ConfigurationError

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "data_collector.apps"
ENTRYPOINT_SETTING = "entrypoint"

AppCallable = Callable[[Any], Any]


def parse_pairs(pairs: Iterable[str]) -> dict[str, str]:
    """``["name=module:callable", ...]`` as a dict; ConfigurationError for a bad pair."""
    found: dict[str, str] = {}
    for entry in pairs:
        name, _, target = entry.partition("=")
        module, _, attr = target.strip().partition(":")
        if not (name.strip() and module.strip() and attr.strip()):
            raise ConfigurationError(f"DC_AGENT_APPS: not a name=module:callable pair: {entry!r}")
        found[name.strip()] = f"{module.strip()}:{attr.strip()}"
    return found


def load_target(target: str) -> AppCallable:
    """Import ``module:attr.path`` and return the callable it names."""
    module_name, _, attr_path = target.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in attr_path.split("."):
        obj = getattr(obj, part)
    if not callable(obj):
        raise TypeError(f"{target} is not callable")
    return cast("Callable[[Any], Any]", obj)


def name_for(settings: Any, app: str) -> str:
    """The registered name asked for by an app's settings and ``app`` column."""
    name = settings.get(ENTRYPOINT_SETTING) if isinstance(settings, Mapping) else None
    return name if isinstance(name, str) and name else app


def app_name(app: Any) -> str:
    """The registered name an ``Apps`` row asks for."""
    return name_for(app.settings, app.app)


class Registry:
    """Registered app callables by name, loaded on first use."""

    def __init__(
        self,
        targets: Mapping[str, str | AppCallable] | None = None,
        *,
        entry_points: bool = True,
    ) -> None:
        self._lock = threading.Lock()
        self._targets: dict[str, str | AppCallable] = {}
        if entry_points:
            for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
                self._targets[ep.name] = ep.value
        self._targets.update(targets or {})
        self._loaded: dict[str, AppCallable] = {}

    @classmethod
    def from_pairs(cls, pairs: Iterable[str], *, entry_points: bool = True) -> Registry:
        """Entry points plus ``DC_AGENT_APPS``-style pairs (which win)."""
        return cls(parse_pairs(pairs), entry_points=entry_points)

    def register(self, name: str, target: str | AppCallable) -> None:
        """Add (or replace) ``name``: a callable or a ``module:callable`` path."""
        with self._lock:
            self._targets[name] = target
            self._loaded.pop(name, None)

    def names(self) -> list[str]:
        """Every registered name, sorted."""
        return sorted(self._targets)

    def knows(self, name: str) -> bool:
        """Whether ``name`` is registered (it may still fail to import)."""
        return name in self._targets

    def hosts(self, app: Any) -> bool:
        """Whether this registry has a callable for the ``Apps`` row ``app``."""
        return self.knows(app_name(app))

    def get(self, name: str) -> AppCallable:
        """The callable registered as ``name``; AppNotRegistered, or the import's error."""
        with self._lock:
            if name in self._loaded:
                return self._loaded[name]
            if name not in self._targets:
                raise AppNotRegistered(f"no app is registered as {name!r} on this agent")
            target = self._targets[name]
        loaded = target if callable(target) else load_target(target)
        with self._lock:
            self._loaded[name] = loaded
        return loaded

    def resolve(self, app: Any) -> AppCallable:
        """The callable for the ``Apps`` row ``app``."""
        return self.get(app_name(app))
