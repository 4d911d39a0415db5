"""The one exception the client raises: the API's error envelope, or no answer at all."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx


@dataclass(frozen=True)
class FieldError:
    """One entry of the envelope's ``details``: which input, and what is wrong with it."""

    field: str
    message: str


@dataclass(eq=False)  # an exception compares by identity, and stays hashable
class ApiError(Exception):
    """The API answered with an error, or could not be reached (``status`` is ``None``).

    ``code`` is the envelope's machine-readable code (``VALIDATION_ERROR``, ``NOT_FOUND``,
    …; ``UNREACHABLE`` when no answer came), ``request_id`` the id to quote when reporting
    a problem (the envelope's, else the ``X-Request-ID`` header).
    """

    status: int | None
    code: str
    message: str
    details: list[FieldError] = field(default_factory=list)
    request_id: str | None = None

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"HTTP {self.status}" if self.status is not None else "no answer"
        text = f"{self.message} ({self.code}, {where})"
        for item in self.details:
            text += f"\n  {item.field}: {item.message}"
        return text

    @classmethod
    def from_response(cls, response: httpx.Response) -> ApiError:
        """The envelope of an error answer; a body that is not one still gives an error."""
        code, message, details = "HTTP_ERROR", response.reason_phrase or "request failed", []
        request_id = response.headers.get("X-Request-ID")
        try:
            error = response.json().get("error")
        except (ValueError, AttributeError):
            error = None  # e.g. an HTML page from a proxy in front of the API
        if isinstance(error, dict):
            code = str(error.get("code") or code)
            message = str(error.get("message") or message)
            request_id = str(error.get("request_id") or request_id or "") or None
            details = [
                FieldError(str(item.get("field", "")), str(item.get("message", "")))
                for item in error.get("details") or []
                if isinstance(item, dict)
            ]
        return cls(response.status_code, code, message, details, request_id)

    @classmethod
    def unreachable(cls, exc: httpx.TransportError) -> ApiError:
        """No answer: refused, timed out, name not resolved… (the URL's host is named by
        httpx's message; no credential is part of it)."""
        return cls(None, "UNREACHABLE", f"cannot reach the API: {type(exc).__name__}: {exc}")
