"""The app's routes as (path template, method, responder), for OpenAPI and the role table.

Walks Falcon's CompiledRouter the way ``falcon.inspect`` does, but keeps the responder
itself (inspect keeps only its name), so its declared :class:`~web.openapi.Operation`
can be read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import falcon.asgi


@dataclass(frozen=True)
class Route:
    """One method of one route."""

    path: str
    method: str
    responder: Callable[..., Any]

    @property
    def internal(self) -> bool:
        """True for Falcon's generated responders (OPTIONS, 405)."""
        return getattr(self.responder, "__module__", "").startswith("falcon.")


def iter_routes(app: falcon.asgi.App) -> Iterator[Route]:
    """Every (path, method, responder) the app routes, Falcon's own excluded."""

    def walk(nodes: list[Any], parent: str) -> Iterator[Route]:
        for node in nodes:
            path = f"{parent}/{node.raw_segment}"
            for method, func in (node.method_map or {}).items():
                real = func.func if isinstance(func, partial) else func
                route = Route(path, method, real)
                if not route.internal:
                    yield route
            if node.children:
                yield from walk(node.children, path)

    yield from walk(app._router._roots, "")
