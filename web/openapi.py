"""OpenAPI 3.1 generated from the responders' pydantic models.

Each responder is declared with :func:`operation`, which validates its query string and
body into ``req.context.query`` / ``req.context.body`` and records what the document
and the authorization need (its roles, :mod:`web.permissions`). :func:`build_document`
walks the app's routes and assembles the document.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import falcon
import falcon.asgi
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from control.auth.roles import Role
from web import contract
from web.fields import MAX_ROW_ID
from web.permissions import allow, is_public
from web.routing import AsgiApp, iter_routes
from web.validation import NUL, parse_body, parse_query

Responder = Callable[..., Awaitable[None]]
REF = "#/components/schemas/{model}"
HEAD_NOTE = "Every GET operation also answers HEAD, with the same status and headers and no body."
ROW_ID_SCHEMA = {"type": "integer", "minimum": 1, "maximum": MAX_ROW_ID}


@dataclass(frozen=True)
class Operation:
    """What one responder accepts and returns, for validation and the document."""

    summary: str
    tags: tuple[str, ...]
    # who may call it (web/permissions.py): PUBLIC for anyone, no credential needed
    roles: frozenset[Role]
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    errors: tuple[int, ...] = ()
    form: bool = False
    description: str = ""
    extra_responses: dict[int, str] = field(default_factory=dict)
    # other successful answers, by status (a bulk dry run answers 200, the job 202)
    alternatives: tuple[tuple[int, type[BaseModel]], ...] = ()


def operation(
    summary: str,
    *,
    roles: frozenset[Role],
    tags: tuple[str, ...] | list[str] = (),
    query: type[BaseModel] | None = None,
    body: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    status: int = 200,
    errors: tuple[int, ...] = (),
    form: bool = False,
    alternatives: dict[int, type[BaseModel]] | None = None,
) -> Callable[[Responder], Responder]:
    """Declare a responder's contract, roles included; validates input before it runs."""

    def decorate(responder: Responder) -> Responder:
        op = Operation(
            summary=summary,
            tags=tuple(tags),
            roles=frozenset(roles),
            query=query,
            body=body,
            response=response,
            status=status,
            errors=errors,
            form=form,
            description=inspect.cleandoc(responder.__doc__ or ""),
            alternatives=tuple((alternatives or {}).items()),
        )

        @functools.wraps(responder)
        async def wrapper(
            self: Any, req: falcon.asgi.Request, resp: falcon.asgi.Response, **params: Any
        ) -> None:
            # no row has a NUL in its id (PostgreSQL cannot even compare one): 404
            if any(isinstance(v, str) and NUL in v for v in params.values()):
                raise falcon.HTTPNotFound()
            # an endpoint without a query model takes no parameters: any is a 400
            req.context.query = parse_query(req, query or NoQuery)
            if body is not None:
                req.context.body = await parse_body(req, body, form=form)
            await responder(self, req, resp, **params)

        wrapper.__openapi__ = op  # type: ignore[attr-defined]
        return allow(op.roles)(wrapper)

    return decorate


class NoQuery(BaseModel):
    """The query model of an endpoint that takes no query parameters."""


def _error_response(status: int) -> dict[str, Any]:
    return {
        "description": f"Error ({status})",
        "headers": contract.headers(status),
        "content": {"application/json": {"schema": {"$ref": REF.format(model="ErrorResponse")}}},
    }


def _parameters(model: type[BaseModel], schema: dict[str, Any]) -> list[dict[str, Any]]:
    properties = schema.get("properties", {})
    required = set(schema.get("required", []))
    # properties are keyed by alias when a field has one (``from``)
    fields = {info.alias or name: info for name, info in model.model_fields.items()}
    result = []
    for name, prop in properties.items():
        info = fields[name]
        param_schema = {k: v for k, v in prop.items() if k not in ("title", "description")}
        result.append(
            {
                "name": name,
                "in": "query",
                "required": name in required,
                "description": info.description or "",
                "schema": param_schema,
            }
        )
    return result


def _path_parameters(template: str) -> list[dict[str, Any]]:
    fields = [part[1:-1].partition(":") for part in template.split("/") if part.startswith("{")]
    return [
        {
            "name": name,
            "in": "path",
            "required": True,
            # {name:id} is web.fields.RowIdConverter: anything else is a 404
            "schema": ROW_ID_SCHEMA if converter == "id" else {"type": "string"},
        }
        for name, _, converter in fields
    ]


def openapi_path(template: str) -> str:
    """The template as OpenAPI writes it: ``{task_id:id}`` → ``{task_id}``."""
    return re.sub(r"\{(\w+):[^}]*\}", r"{\1}", template)


def operation_of(responder: Callable[..., Any]) -> Operation | None:
    """The contract a responder declared with :func:`operation`, if any."""
    return getattr(responder, "__openapi__", None)


def collect_operations(app: AsgiApp) -> list[tuple[str, str, Operation | None]]:
    """(path template, method, operation) for every route and method of ``app``."""
    return [(r.path, r.method, operation_of(r.responder)) for r in iter_routes(app)]


def build_document(
    app: AsgiApp, *, title: str, version: str, api_key_header: str = "X-API-Key"
) -> dict[str, Any]:
    """The OpenAPI 3.1 document for every declared operation of ``app``."""
    from web.schemas.common import ErrorResponse

    # HEAD shares GET's responder and contract: said once in info, not doubled per path
    ops = [
        (path, method, op)
        for path, method, op in collect_operations(app)
        if op is not None and method != "HEAD"
    ]
    models: set[type[BaseModel]] = {ErrorResponse}
    for _, _, op in ops:
        models.update(m for m in (op.query, op.body, op.response) if m is not None)
        models.update(model for _, model in op.alternatives)
    ordered = sorted(models, key=lambda m: m.__name__)
    keyed, definitions = models_json_schema([(m, "validation") for m in ordered], ref_template=REF)
    components = definitions.get("$defs", {})
    # pydantic names each model in $defs, qualifying those whose class names clash
    # (two areas may both have a HistoryQuery); always go through its refs
    refs: dict[type[BaseModel], str] = {
        model: keyed[(model, "validation")]["$ref"] for model in ordered
    }

    def name_of(model: type[BaseModel]) -> str:
        return refs[model].rsplit("/", 1)[-1]

    paths: dict[str, dict[str, Any]] = {}
    for template, method, op in ops:
        path = openapi_path(template)
        entry: dict[str, Any] = {
            "summary": op.summary,
            "tags": list(op.tags),
            "operationId": f"{method.lower()}_{path.strip('/').replace('/', '_')}".replace(
                "{", ""
            ).replace("}", ""),
        }
        if op.description:
            entry["description"] = op.description
        parameters = _path_parameters(template) + contract.header_parameters(op.errors)
        if op.query is not None:
            parameters += _parameters(op.query, components[name_of(op.query)])
        if parameters:
            entry["parameters"] = parameters
        if op.body is not None:
            body_schema = {"schema": {"$ref": refs[op.body]}}
            content = {"application/json": body_schema}
            if op.form:
                content["application/x-www-form-urlencoded"] = body_schema
            entry["requestBody"] = {"required": True, "content": content}
        success: dict[str, Any] = {"description": "Success", "headers": contract.headers(op.status)}
        if op.response is not None:
            success["content"] = {"application/json": {"schema": {"$ref": refs[op.response]}}}
        responses: dict[str, Any] = {str(op.status): success}
        for status, model in op.alternatives:
            responses[str(status)] = {
                "description": "Success",
                "headers": contract.headers(status),
                "content": {"application/json": {"schema": {"$ref": refs[model]}}},
            }
        public = is_public(op.roles)
        statuses = contract.statuses(
            path,
            method,
            public=public,
            query=op.query is not None,
            body=op.body is not None,
            declared=op.errors,
        )
        for status in sorted(statuses):
            responses[str(status)] = _error_response(status)
        entry["responses"] = responses
        entry["security"] = contract.security(public)
        paths.setdefault(path, {})[method.lower()] = entry

    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": HEAD_NOTE},
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(components.items())),
            "headers": contract.HEADERS,
            "securitySchemes": contract.security_schemes(api_key_header),
        },
        "security": contract.security(public=False),
    }
