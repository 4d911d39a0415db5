"""The four roles of the spec and how they compare."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """``viewer`` reads; ``operator`` also commands apps; ``admin`` may do anything;
    ``service`` is for automated clients: reads and commands, no administration."""

    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"
    SERVICE = "service"


# What each role may do, as capabilities; a route names the roles it admits.
_RANK = {Role.VIEWER: 1, Role.SERVICE: 2, Role.OPERATOR: 2, Role.ADMIN: 3}

READ = frozenset(Role)
COMMAND = frozenset({Role.OPERATOR, Role.ADMIN, Role.SERVICE})
ADMIN = frozenset({Role.ADMIN})
HUMAN = frozenset({Role.VIEWER, Role.OPERATOR, Role.ADMIN})


def may_grant(granter: Role, wanted: Role) -> bool:
    """Whether ``granter`` may create a credential of role ``wanted`` (never above itself)."""
    if granter is Role.ADMIN:
        return True
    if wanted is Role.SERVICE:
        return granter is Role.SERVICE
    return _RANK[wanted] <= _RANK[granter] and wanted is not Role.ADMIN
