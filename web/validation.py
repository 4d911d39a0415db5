"""Request validation with pydantic: query strings and JSON bodies.

Unknown query parameters are a 400 naming them (filters are an allowlist); values that
break the schema are a 422 with one detail per bad field.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Iterable
from enum import Enum
from typing import TYPE_CHECKING, Any, Literal, Self, TypeVar, get_args, get_origin

import falcon
import falcon.asgi
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import ErrorDetails

from web.errors import ApiError, detail

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

M = TypeVar("M", bound=BaseModel)
D = TypeVar("D", bound="DataclassInstance")


class Invalid(ValueError):
    """Raised by our validators: its message is written for the client and shown as is.

    Any other ``ValueError`` met while validating (``int()`` on a stray character, a
    library's parser) speaks Python, not the API, and is shown as a generic message.
    """


class QueryModel(BaseModel):
    """Base for query-string models: strict names, lenient string-to-type coercion."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _no_null_defaults(schema: dict[str, Any]) -> None:
    # An omitted field is "not sent", not null: a null default would tell clients (and
    # schema-driven tools) that null is a value. Fields that accept null say so with their
    # own type (``X | None``); those that refuse it are ``X | SkipJsonSchema[None]``.
    for prop in schema.get("properties", {}).values():
        if "default" in prop and prop["default"] is None:
            del prop["default"]


def _patch_schema(schema: dict[str, Any]) -> None:
    _no_null_defaults(schema)
    schema["minProperties"] = 1  # at least one field to change


class BodyModel(BaseModel):
    """Base for JSON request bodies: unknown keys are refused."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_no_null_defaults)


class PatchModel(BodyModel):
    """Base for PATCH bodies: only the fields sent change, and at least one must be sent.

    A field that refuses null is typed ``X | SkipJsonSchema[None]``: None stays the
    "not sent" default in Python, and the document does not offer null.
    """

    model_config = ConfigDict(extra="forbid", json_schema_extra=_patch_schema)

    @model_validator(mode="after")
    def _something(self) -> Self:
        if not self.model_fields_set:
            raise Invalid("Give at least one field to change.")
        return self

    def changes(self) -> dict[str, Any]:
        """The fields the client sent, as given."""
        return {name: getattr(self, name) for name in self.model_fields_set}


class PageQuery(QueryModel):
    """Offset pagination and sorting."""

    page: int = Field(1, ge=1, le=1_000_000, description="Page number, from 1.")
    per_page: int = Field(20, ge=1, le=100, description="Items per page (1-100).")
    sort: str | None = Field(
        None, max_length=200, description="Comma-separated fields; prefix '-' for descending."
    )


def sort_field(allowed: Iterable[str]) -> Any:
    """The ``sort`` parameter of a list sortable by ``allowed``.

    The document spells the allowlist as a pattern, so clients (and schema-driven tools)
    know which values are accepted; the service still checks them, answering 400 with the
    allowed names (:func:`control.querying.parse_sort`).
    """
    names = "|".join(sorted(re.escape(name) for name in allowed))
    term = f"[+-]?(?:{names})"
    return Field(
        None,
        max_length=200,
        description=f"Comma-separated, of: {', '.join(sorted(allowed))}; '-' for descending.",
        json_schema_extra={"pattern": f"^(?:{term}(?:,{term})*)?$"},  # empty: the default
    )


def cursor_field(description: str = "") -> Any:
    """The ``cursor`` parameter of a list paged by keyset (``description`` added)."""
    return Field(
        None,
        max_length=512,
        description="Opaque and signed: only a meta.next_cursor this list returned (any "
        "other value is a 400)." + (f" {description}" if description else ""),
        # the shape of web/cursor.py's cursors: payload '.' a 16-byte signature
        json_schema_extra={"pattern": r"^(?:[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22})?$"},  # empty: page 1
    )


class CursorQuery(QueryModel):
    """Keyset (cursor) pagination."""

    cursor: str | None = cursor_field()
    limit: int = Field(50, ge=1, le=100, description="Items per page (1-100).")


def _field_name(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc if part != "__root__") or "body"


def _message(error: ErrorDetails) -> str:
    if error["type"] in ("value_error", "assertion_error"):
        cause = error.get("ctx", {}).get("error")
        return str(cause) if isinstance(cause, Invalid) else "is not a valid value"
    return error["msg"]  # pydantic's own wording ("Input should be ...")


def validation_details(exc: ValidationError) -> list[dict[str, Any]]:
    """One ``{field, message}`` per failed field, without echoing the input."""
    errors = exc.errors(include_url=False)
    # ``X | None`` (``SkipJsonSchema[None]`` included): pydantic reports each branch with its
    # tag in the path (``settings.dict[str,any]``, ``settings.none``); name the field itself
    unions = {err["loc"][:-1] for err in errors if err["type"] == "none_required" and err["loc"]}
    details = []
    for err in errors:
        loc = err["loc"]
        if err["type"] == "none_required" and loc[:-1] in unions:
            continue
        for prefix in unions:
            if len(loc) > len(prefix) and loc[: len(prefix)] == prefix:
                loc = prefix + loc[len(prefix) + 1 :]
                break
        details.append(detail(_field_name(loc), _message(err)))
    return details


def _choices(annotation: Any) -> list[str]:
    """The string values an annotation allows (enum members, literals), nested or not."""
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return [m.value for m in annotation if isinstance(m.value, str)]
    if get_origin(annotation) is Literal:
        return [arg for arg in get_args(annotation) if isinstance(arg, str)]
    return [choice for arg in get_args(annotation) for choice in _choices(arg)]


@functools.cache
def _parameters(model: type[BaseModel]) -> tuple[frozenset[str], frozenset[str]]:
    """The query parameters of ``model`` and those that may be given more than once (a
    list). A field's alias is its parameter name (``from`` cannot be an attribute)."""
    names = {info.alias or name: info for name, info in model.model_fields.items()}
    repeatable = {name for name, info in names.items() if "list" in str(info.annotation)}
    return frozenset(names), frozenset(repeatable)


@functools.cache
def _enum_fields(model: type[BaseModel]) -> dict[str, dict[str, str]]:
    """Per query parameter with enumerated values: lower-cased value → canonical."""
    found = {}
    for name, info in model.model_fields.items():
        if choices := _choices(info.annotation):
            found[info.alias or name] = {choice.lower(): choice for choice in choices}
    return found


def _canonical(value: Any, choices: dict[str, str]) -> Any:
    # A query string is typed by hand: ?run_status=running means RUNNING. A value that
    # matches no choice is left as sent, for the schema to refuse by name.
    if isinstance(value, list):
        return [_canonical(item, choices) for item in value]
    return choices.get(value.strip().lower(), value) if isinstance(value, str) else value


NUL = "\x00"
NUL_MESSAGE = "must not contain NUL characters"


def nul_field(value: Any, where: str) -> str | None:
    """The dotted name of the first string (or key) in ``value`` holding a NUL: text no
    database column can store (PostgreSQL refuses it), so it is refused at the edge."""
    if isinstance(value, str):
        return where if NUL in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            name = f"{where}.{key}" if where else str(key)
            if NUL in str(key):
                return where or "body"
            if found := nul_field(item, name):
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            if found := nul_field(item, f"{where}.{index}" if where else str(index)):
                return found
    return None


def _refuse_nul(value: Any, message: str) -> None:
    field = nul_field(value, "")
    if field is not None:
        safe = field.replace(NUL, "\\0")
        raise ApiError(422, message, details=[detail(safe, NUL_MESSAGE)])


def parse_query(req: falcon.Request, model: type[M]) -> M:
    """Validate the query string against ``model``."""
    params: dict[str, Any] = dict(req.params)
    fields, repeatable = _parameters(model)
    unknown = sorted(set(params) - fields)
    if unknown:
        raise ApiError(
            400,
            f"Unknown query parameter: {', '.join(unknown)}.",
            code="UNKNOWN_PARAMETER",
            details=[detail(name, "not a parameter of this endpoint") for name in unknown],
        )
    for name, value in params.items():
        if isinstance(value, list) and name not in repeatable:
            raise ApiError(
                400,
                f"Parameter {name} was given more than once.",
                code="BAD_REQUEST",
                details=[detail(name, "given more than once")],
            )
    _refuse_nul(params, "Invalid query parameters.")
    for name, choices in _enum_fields(model).items():
        if name in params:
            params[name] = _canonical(params[name], choices)
    try:
        return model.model_validate(params)
    except ValidationError as exc:
        raise ApiError(422, "Invalid query parameters.", details=validation_details(exc)) from None


async def parse_body(req: falcon.asgi.Request, model: type[M], *, form: bool = False) -> M:
    """Validate the JSON body (or, with ``form``, an urlencoded form) against ``model``."""
    content_type = (req.content_type or "").split(";")[0].strip().lower()
    accepted = {falcon.MEDIA_JSON} | ({falcon.MEDIA_URLENCODED} if form else set())
    if content_type not in accepted:
        raise falcon.HTTPUnsupportedMediaType()
    media = await req.get_media()
    _refuse_nul(media, "Invalid request body.")
    try:
        return model.model_validate(media)
    except ValidationError as exc:
        raise ApiError(422, "Invalid request body.", details=validation_details(exc)) from None


def filters(cls: type[D], query: BaseModel) -> D:
    """A service's filter dataclass from a validated query: each of its fields is the
    query's field of the same name (a query may have more: paging, sorting)."""
    return cls(**{f.name: getattr(query, f.name) for f in dataclasses.fields(cls) if f.init})
