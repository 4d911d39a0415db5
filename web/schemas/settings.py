"""The caller's own settings and API keys."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from control.auth.roles import Role
from web.fields import TIME_ZONES, PlainText
from web.schemas.common import PageMeta
from web.validation import BodyModel, QueryModel

Theme = Literal["light", "dark", "system"]
DateFormat = Literal["iso", "locale"]


# --- settings -------------------------------------------------------------------------


class DisplaySettings(BaseModel):
    theme: Theme
    page_size: int = Field(ge=10, le=100)
    date_format: DateFormat


class SavedView(BaseModel):
    path: str = Field(
        max_length=500,
        pattern=r"^/dashboard/(apps(/[^?#\s]*)?)?(\?[^#\s]*)?$",
        description="The Program Manager's path and query (filter, search, sort).",
    )


class UserSettings(BaseModel):
    timezone: str = Field(description="IANA time zone name, e.g. Europe/Berlin.")
    display: DisplaySettings
    views: dict[str, SavedView] = Field(
        default_factory=dict, description="The dashboard's saved views, by name."
    )


class DisplayPatch(BodyModel):
    theme: Theme | None = None
    page_size: int | None = Field(None, ge=10, le=100, description="Rows per page (10-100).")
    date_format: DateFormat | None = None


class SavedViewPatch(BodyModel):
    path: str = Field(
        max_length=500,
        pattern=r"^/dashboard/(apps(/[^?#\s]*)?)?(\?[^#\s]*)?$",
        description="The Program Manager's path and query (filter, search, sort).",
    )


ViewName = Annotated[str, StringConstraints(min_length=1, max_length=60, strip_whitespace=True)]


class SettingsPatch(BodyModel):
    """Only the given keys change; ``null`` restores a key's default; unknown keys: 422."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    timezone: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        description="IANA time zone name, e.g. Europe/Berlin.",
        json_schema_extra={"enum": [*TIME_ZONES, None]},
    )
    display: DisplayPatch | None = None
    views: dict[ViewName, SavedViewPatch | None] | None = Field(
        None,
        max_length=20,
        description="Saved views to add or replace by name; null as a value deletes one.",
    )


class UserSettingsResponse(BaseModel):
    data: UserSettings


# --- API keys -------------------------------------------------------------------------


class ApiKeyListQuery(QueryModel):
    page: int = Field(1, ge=1, le=1_000_000, description="Page number, from 1.")
    per_page: int = Field(20, ge=1, le=100, description="Items per page (1-100).")


class ApiKeyCreate(BodyModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: PlainText = Field(
        min_length=1, max_length=100, description="What the key is for (one line of text)."
    )
    role: Role | None = Field(
        None, description="The key's role; default the caller's, never above it."
    )


class ApiKeyItem(BaseModel):
    id: int
    prefix: str = Field(description="Public part of the key: dck_<prefix>_...")
    name: str
    role: Role
    created: dt.datetime
    last_used: dt.datetime | None


class ApiKeyCreated(ApiKeyItem):
    key: str = Field(description="The whole key. Shown only in this answer: store it now.")


class ApiKeyListResponse(BaseModel):
    data: list[ApiKeyItem]
    meta: PageMeta


class ApiKeyCreatedResponse(BaseModel):
    data: ApiKeyCreated
