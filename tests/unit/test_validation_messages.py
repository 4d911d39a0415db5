"""The validation translator: 422 messages speak the API's language, never Python's."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError, field_validator

from web.validation import Invalid, validation_details


class Sample(BaseModel):
    count: int
    word: str

    @field_validator("count", mode="before")
    @classmethod
    def _count(cls, value: object) -> object:
        return int(str(value))  # a stray character: "invalid literal for int() ..."

    @field_validator("word")
    @classmethod
    def _word(cls, value: str) -> str:
        if value != value.lower():
            raise Invalid("must be lower case")
        return value


def details_for(**data: object) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        Sample.model_validate(data)
    return {d["field"]: d["message"] for d in validation_details(caught.value)}


def test_a_python_error_becomes_a_generic_message():
    details = details_for(count="12x", word="ok")
    assert details == {"count": "is not a valid value"}


def test_our_own_message_is_shown_as_written():
    details = details_for(count=1, word="Loud")
    assert details == {"word": "must be lower case"}


def test_pydantic_wording_is_kept():
    details = details_for(count=1)
    assert details == {"word": "Field required"}
