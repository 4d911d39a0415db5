"""Who may call what: each responder declares its roles. Deny by default.

An HTTP responder declares them with ``@operation(..., roles=READ)`` (web/openapi.py);
one that is not in the document (the documentation pages, the WebSocket feeds) with
``@allow(...)``. The authorization middleware, the document and the audit read them
back from the router (:class:`web.routing.RouteTable`); a route without roles admits
nobody, and a test fails the build for one. ``PUBLIC`` routes need no credentials.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from control.auth.roles import ADMIN, COMMAND, HUMAN, READ, Role

PUBLIC: frozenset[Role] = frozenset()
"""Marker: no authentication required."""

ROLES_ATTRIBUTE = "__roles__"

F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["ADMIN", "COMMAND", "HUMAN", "PUBLIC", "READ", "allow", "roles_of"]


def allow(roles: frozenset[Role]) -> Callable[[F], F]:
    """Declare the roles admitted to a responder that :func:`web.openapi.operation` does
    not describe (``PUBLIC`` for none)."""

    def decorate(responder: F) -> F:
        setattr(responder, ROLES_ATTRIBUTE, frozenset(roles))
        return responder

    return decorate


def roles_of(responder: Callable[..., Any]) -> frozenset[Role] | None:
    """The roles a responder declared; None when it declared none (nobody is admitted)."""
    return getattr(responder, ROLES_ATTRIBUTE, None)


def is_public(roles: frozenset[Role] | None) -> bool:
    """Whether the declared roles need no credential (undeclared is not public)."""
    return roles is not None and not roles
