"""Request validation with pydantic: query strings and JSON bodies.

Unknown query parameters are a 400 naming them (filters are an allowlist); values that
break the schema are a 422 with one detail per bad field.
"""

from __future__ import annotations

from typing import Any, Self, TypeVar

import falcon
import falcon.asgi
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from web.errors import ApiError, detail

M = TypeVar("M", bound=BaseModel)


class QueryModel(BaseModel):
    """Base for query-string models: strict names, lenient string-to-type coercion."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class BodyModel(BaseModel):
    """Base for JSON request bodies: unknown keys are refused."""

    model_config = ConfigDict(extra="forbid")


class PatchModel(BodyModel):
    """Base for PATCH bodies: only the fields sent change, and at least one must be sent."""

    @model_validator(mode="after")
    def _something(self) -> Self:
        if not self.model_fields_set:
            raise ValueError("Give at least one field to change.")
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


class CursorQuery(QueryModel):
    """Keyset (cursor) pagination."""

    cursor: str | None = Field(None, max_length=512, description="Opaque cursor from meta.")
    limit: int = Field(50, ge=1, le=100, description="Items per page (1-100).")


def _field_name(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc if part != "__root__") or "body"


def validation_details(exc: ValidationError) -> list[dict[str, Any]]:
    """One ``{field, message}`` per failed field, without echoing the input."""
    return [detail(_field_name(err["loc"]), err["msg"]) for err in exc.errors(include_url=False)]


def parse_query(req: falcon.Request, model: type[M]) -> M:
    """Validate the query string against ``model``."""
    params: dict[str, Any] = dict(req.params)
    # a field's alias is its parameter name (``from`` cannot be an attribute)
    fields = {info.alias or name: info for name, info in model.model_fields.items()}
    unknown = sorted(set(params) - set(fields))
    if unknown:
        raise ApiError(
            400,
            f"Unknown query parameter: {', '.join(unknown)}.",
            code="UNKNOWN_PARAMETER",
            details=[detail(name, "not a parameter of this endpoint") for name in unknown],
        )
    for name, value in params.items():
        annotation = str(fields[name].annotation)
        if isinstance(value, list) and "list" not in annotation:
            raise ApiError(
                400,
                f"Parameter {name} was given more than once.",
                code="BAD_REQUEST",
                details=[detail(name, "given more than once")],
            )
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
    try:
        return model.model_validate(media)
    except ValidationError as exc:
        raise ApiError(422, "Invalid request body.", details=validation_details(exc)) from None
