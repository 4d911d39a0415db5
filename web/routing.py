"""The app's routes as (path template, method, responder): the one route table.

Walks Falcon's CompiledRouter the way ``falcon.inspect`` does, but keeps the responder
itself (inspect keeps only its name), so what it declared (its
:class:`~web.openapi.Operation`, its roles) can be read. The OpenAPI document, the
authorization middleware, the audit and the metrics all read the routes from here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import falcon.asgi
from falcon.routing import CompiledRouter

from control.auth.roles import Role
from web.permissions import roles_of

AsgiApp = falcon.asgi.App[falcon.asgi.Request, falcon.asgi.Response]
"""The API's Falcon app (the default ASGI request and response types)."""


@dataclass(frozen=True)
class Route:
    """One method of one route."""

    path: str
    method: str
    responder: Callable[..., Any]

    @property
    def roles(self) -> frozenset[Role] | None:
        """The roles the responder declared; None when it declared none."""
        return roles_of(self.responder)

    @property
    def internal(self) -> bool:
        """True for Falcon's generated responders (OPTIONS, 405)."""
        return getattr(self.responder, "__module__", "").startswith("falcon.")


def uri_template(req: falcon.asgi.Request) -> str:
    """The template of the route ``req`` was routed to (a responder runs only then)."""
    template = req.uri_template
    if template is None:
        raise RuntimeError("the request was not routed")
    return template


def iter_routes(app: AsgiApp | CompiledRouter) -> Iterator[Route]:
    """Every (path, method, responder) the app (or router) routes, Falcon's own excluded."""
    router = app if isinstance(app, CompiledRouter) else app._router

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

    yield from walk(router._roots, "")


class Router(CompiledRouter):
    """Falcon's router, counting the routes added so that readers know to read again."""

    def __init__(self) -> None:
        super().__init__()
        self.version = 0

    def add_route(self, uri_template: str, resource: object, **kwargs: Any) -> None:
        super().add_route(uri_template, resource, **kwargs)
        self.version += 1


class RouteTable:
    """What the router knows about a route, for the middleware that needs it.

    Built from the router before the app exists (the app is built with the router); the
    routes are read on first use, and again once routes were added (tests add theirs
    after ``create_app``).
    """

    def __init__(self, router: Router) -> None:
        self.router = router
        self._roles: dict[tuple[str, str], frozenset[Role] | None] = {}
        self._version = -1

    def _table(self) -> dict[tuple[str, str], frozenset[Role] | None]:
        if self._version != self.router.version:
            self._version = self.router.version
            self._roles = {(r.path, r.method): r.roles for r in iter_routes(self.router)}
        return self._roles

    def is_routed(self, template: str, method: str) -> bool:
        """Whether ``method`` on ``template`` reaches a responder of the app's own."""
        return (template, method) in self._table()

    def roles(self, template: str, method: str) -> frozenset[Role] | None:
        """The roles admitted to ``method template``; None when undeclared or not routed
        (nobody is admitted). HEAD is GET without the body: the same roles."""
        return self._table().get((template, "GET" if method == "HEAD" else method))

    def template_for(self, path: str, method: str) -> str | None:
        """The template of the route ``method path`` falls on, None when nothing routes
        it: for requests refused before routing (rate limit, body limit)."""
        found = self.router.find(path)
        if found is None:
            return None
        template: str | None = found[3]
        return template if template is not None and self.is_routed(template, method) else None


def answer_head_like_get(app: AsgiApp) -> None:
    """Route HEAD to the GET responder wherever a route has GET and no HEAD of its own.

    Falcon answers HEAD without a body (keeping Content-Length), so HEAD answers like
    GET, which HTTP requires of every GET resource; it was a 405.
    """

    def walk(nodes: list[Any]) -> None:
        for node in nodes:
            methods = node.method_map or {}
            get, head = methods.get("GET"), methods.get("HEAD")
            if (
                get is not None
                and head is not None
                and not Route("", "GET", get).internal
                and Route("", "HEAD", head).internal
            ):
                methods["HEAD"] = get
            if node.children:
                walk(node.children)

    walk(app._router._roots)
