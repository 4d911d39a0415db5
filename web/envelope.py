"""The success envelope: ``{"data": ..., "meta": {...}}``."""

from __future__ import annotations

from typing import Any

from control.querying import Page


def single(data: Any) -> dict[str, Any]:
    """Envelope for one object."""
    return {"data": data}


def offset_page(page: Page, items: list[Any], **extra: Any) -> dict[str, Any]:
    """Envelope for an offset page, with the numbers the conventions name (and ``extra``
    in ``meta``, e.g. the ``next_cursor`` of a list that also pages by keyset)."""
    return {
        "data": items,
        "meta": {
            "page": page.page,
            "per_page": page.per_page,
            "total": page.total,
            "total_pages": page.total_pages,
            **extra,
        },
    }


def cursor_page(items: list[Any], next_cursor: str | None, limit: int) -> dict[str, Any]:
    """Envelope for a cursor page; ``next_cursor`` is null on the last page."""
    return {"data": items, "meta": {"limit": limit, "next_cursor": next_cursor}}
