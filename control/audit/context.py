"""Who asks, and from where: what every audit row says besides its action and details.

The web layer builds one :class:`AuditContext` per request (``web/audit_context.py``) and
hands it to the services that write; the command line and the workers build theirs
from an :class:`Actor`. The context remembers whether a row was written with it, so the
API's audit middleware records only the answers no service recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Actor:
    """Who asks: the audit row's actor columns and a command's ``requested_by``."""

    subject: str
    kind: str = "user"  # user | service | api_key | cli | system | anonymous
    role: str | None = None


ANONYMOUS = Actor("anonymous", "anonymous")


@dataclass(eq=False)
class AuditContext:
    """The request (or job) an audit row belongs to.

    ``summary`` is what the request carried (path parameters, the validated body), kept
    in the rows its services write; ``status`` the answer's status when the service
    succeeds (an API request's declared status), stored on its success rows.
    """

    actor: Actor = ANONYMOUS
    ip: str | None = None
    method: str | None = None
    endpoint: str | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    status: int | None = None
    request_id: str | None = None
    recorded: bool = field(default=False, init=False)

    @classmethod
    def of(cls, actor: Actor | AuditContext) -> AuditContext:
        """``actor``'s context (no request), or the context itself."""
        return actor if isinstance(actor, AuditContext) else cls(actor=actor)
