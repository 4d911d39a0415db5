"""Models shared by every area: the error shape and pagination metadata."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ErrorDetail(BaseModel):
    field: str | None = Field(None, description="The offending field, when one is to blame.")
    message: str


class ErrorBody(BaseModel):
    code: str = Field(description="Machine-readable code, e.g. VALIDATION_ERROR.")
    message: str
    details: list[ErrorDetail] = Field(default_factory=list)
    request_id: str = Field(description="The X-Request-ID of the failed request.")


class ErrorResponse(BaseModel):
    """Every error answer has this shape."""

    error: ErrorBody


class PageMeta(BaseModel):
    page: int
    per_page: int
    total: int
    total_pages: int


class PageCursorMeta(PageMeta):
    """An offset page of a list that also pages by keyset."""

    next_cursor: str | None = Field(
        description="Pass as ?cursor= (same filters and sort) for the next page, as fast "
        "deep in the list as at its start; null on the last page."
    )


class CursorMeta(BaseModel):
    limit: int
    next_cursor: str | None = Field(
        description="Pass as ?cursor= for the next page; null at the end."
    )
