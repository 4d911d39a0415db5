"""Authentication: token requests and answers, the caller's profile."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, BaseModel, Field
from pydantic.json_schema import SkipJsonSchema

from control.auth.roles import Role
from web.validation import BodyModel

# ``grant_type`` may be omitted (or null in JSON) but the document does not offer null:
# an OAuth2 form, which these bodies may also be, has no way to say it.


class PasswordGrant(BodyModel):
    """JSON ``{"username", "password"}`` or the OAuth2 password form."""

    username: str = Field(  # type: ignore[pydantic-alias]  # either name is accepted
        min_length=3, max_length=254, validation_alias=AliasChoices("username", "email")
    )
    password: str = Field(min_length=1, max_length=1024)
    grant_type: Literal["password"] | SkipJsonSchema[None] = None
    scope: str | None = Field(None, max_length=200)


class RefreshGrant(BodyModel):
    refresh_token: str = Field(min_length=10, max_length=4096)
    grant_type: Literal["refresh_token"] | SkipJsonSchema[None] = None


class ClientCredentialsGrant(BodyModel):
    client_id: str = Field(min_length=3, max_length=64)
    client_secret: str = Field(min_length=8, max_length=256)
    grant_type: Literal["client_credentials"] | SkipJsonSchema[None] = None
    scope: str | None = Field(None, max_length=200)


class TokenData(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 type name
    expires_in: int = Field(description="Seconds until the access token expires.")
    refresh_token: str | None = Field(None, description="One-time use; absent for services.")
    role: Role


class TokenResponse(BaseModel):
    data: TokenData


class Me(BaseModel):
    subject: str = Field(description="Email, service client id.")
    kind: Literal["user", "service", "api_key"]
    role: Role
    settings: dict[str, object] | None = None


class MeResponse(BaseModel):
    data: Me
