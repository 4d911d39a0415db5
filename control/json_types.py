"""Types for values that arrive as JSON, typed as JSON Schema types them."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field, StrictInt


def _json_integer(value: Any) -> Any:
    # JSON Schema's "integer" admits 5.0 and refuses true and "5"; pydantic's lax int
    # would take "5" and true, its StrictInt refuses 5.0. Between the two:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def json_int(*, ge: int | None = None, le: int | None = None) -> Any:
    """An integer as JSON Schema's ``integer`` (5 and 5.0, not ``true`` or ``"5"``), with
    ``Field`` bounds (``ge``, ``le``) on the integer itself so the document shows them."""
    bounds = Field(ge=ge, le=le)  # a bound left None adds no constraint
    return Annotated[Annotated[StrictInt, bounds], BeforeValidator(_json_integer)]
