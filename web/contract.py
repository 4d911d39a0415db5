"""What every operation of the OpenAPI document answers beyond its own declaration.

The statuses, headers and security an operation can answer are derived here from its
:class:`~web.openapi.Operation` (its path, method and declared roles) and what the
middleware does to every request, so no endpoint lists them by hand:

- every answer: ``X-Request-ID`` and the ``X-RateLimit-*`` headers (absent only while the
  key-value store is down), 429 (rate limits), 503 (a store or the database down);
- a route that needs a credential: security ``bearerAuth`` or ``apiKeyAuth``, 401, 403;
  a public route: ``security: []``;
- a write (POST, PUT, PATCH, DELETE): 403 (a cross-origin write from an origin not
  allowed) and 411 (a streamed body without ``Content-Length``);
- a path parameter: 404; a query model: 400 (unknown parameter), 422; a body: 400, 413,
  415, 422;
- an operation that answers 428 requires the ``If-Match`` header (a parameter).
"""

from __future__ import annotations

from typing import Any

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
BEARER = "bearerAuth"
API_KEY = "apiKeyAuth"
HEADER_REF = "#/components/headers/{name}"

HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-ID": {
        "description": "The request's id (the client's, when it sent a valid one); "
        "errors repeat it as error.request_id.",
        "schema": {"type": "string"},
    },
    "X-RateLimit-Limit": {
        "description": "The limit of the most restrictive rate-limit bucket that applied.",
        "schema": {"type": "integer"},
    },
    "X-RateLimit-Remaining": {
        "description": "Requests left in that bucket's window.",
        "schema": {"type": "integer"},
    },
    "X-RateLimit-Reset": {
        "description": "When that window ends (unix seconds).",
        "schema": {"type": "integer"},
    },
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "integer"},
    },
}
EVERY_ANSWER = ("X-Request-ID", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


def security_schemes(api_key_header: str) -> dict[str, Any]:
    """The two ways to authenticate: a bearer JWT or an API key in its header."""
    return {
        BEARER: {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An access token from POST /api/v1/auth/token or /auth/service.",
        },
        API_KEY: {
            "type": "apiKey",
            "in": "header",
            "name": api_key_header,
            "description": "A personal API key from POST /api/v1/settings/api-keys.",
        },
    }


def security(public: bool) -> list[dict[str, list[str]]]:
    """An operation's security requirement: none, or either scheme."""
    return [] if public else [{BEARER: []}, {API_KEY: []}]


def statuses(
    path: str, method: str, *, public: bool, query: bool, body: bool, declared: tuple[int, ...]
) -> set[int]:
    """Every error status the operation can answer."""
    found = set(declared) | {429, 500, 503}
    if not public:
        found |= {401, 403}
    if method in WRITES:
        found |= {403, 411}
    if "{" in path:
        found.add(404)
    if query:
        found |= {400, 422}
    if body:
        found |= {400, 413, 415, 422}
    return found


def header_parameters(declared: tuple[int, ...]) -> list[dict[str, Any]]:
    """Request headers an operation requires: ``If-Match`` when it answers 428 without it."""
    if 428 not in declared:
        return []
    return [
        {
            "name": "If-Match",
            "in": "header",
            "required": True,
            "description": "The ETag a GET answered (or *): 428 without it, 412 when the "
            "resource changed since, 400 when it is not an entity-tag.",
            "schema": {"type": "string", "pattern": r'^(?:\*|(?:W/)?"[\x21\x23-\x7e]*")$'},
        }
    ]


def headers(status: int) -> dict[str, Any]:
    """The headers of an answer with ``status``: ``$ref``s into components.headers."""
    names = list(EVERY_ANSWER)
    if status in (429, 503):
        names.append("Retry-After")
    return {name: {"$ref": HEADER_REF.format(name=name)} for name in names}
