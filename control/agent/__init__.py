"""The reference agent: hosts data-collection apps, obeys commands, reports everything.

Writing an app (docs/apps.md)::

    from control.agent import AppContext, function_log

    def run(ctx: AppContext) -> None:
        ...

``dcctl agent`` runs an agent for some groups; ``dcctl serve`` runs one in-process in the
embedded default. See ``control/agent/agent.py`` for how the pieces fit.
"""

from __future__ import annotations

from control.agent.cancel import CancelToken
from control.agent.context import AppContext
from control.agent.errors import AgentError, AppNotRegistered, Cancelled, ForcedStop
from control.agent.functionlog import current_call, function_log
from control.agent.pipeline import STAGES

__all__ = [
    "STAGES",
    "AgentError",
    "AppContext",
    "AppNotRegistered",
    "CancelToken",
    "Cancelled",
    "ForcedStop",
    "current_call",
    "function_log",
]
