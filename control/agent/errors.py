"""The agent's exceptions.

AgentError
├── AppNotRegistered   no callable is registered under an app's name
└── Cancelled          raised by ``CancelToken.raise_if_cancelled`` once a stop is asked

ForcedStop (a BaseException, like KeyboardInterrupt) is injected into an app's thread
when it ignores a stop for longer than the grace period; apps should not catch it.
"""

from __future__ import annotations


class AgentError(Exception):
    """Root of the errors the agent raises on purpose."""


class AppNotRegistered(AgentError):
    """Raised when an app's entry point name is not registered with this agent."""


class Cancelled(AgentError):
    """Raised inside an app by ``raise_if_cancelled`` after a STOP (or agent shutdown)."""


class ForcedStop(BaseException):
    """Injected into an app's thread when the stop grace period has run out."""
