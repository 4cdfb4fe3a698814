"""`first_error`: the one line shown for a validation error, wherever one is reported."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError, field_validator

from actions.errors import first_error


class Inner(BaseModel):
    count: int


class Outer(BaseModel):
    inner: Inner
    name: str

    @field_validator("name")
    @classmethod
    def _short(cls, value: str) -> str:
        if len(value) > 3:
            raise ValueError("name is too long")
        return value


def _error(data: object) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        Outer.model_validate(data)
    return caught.value


def test_a_nested_field_is_named_by_its_path() -> None:
    message = first_error(_error({"inner": {"count": "x"}, "name": "a"}))
    assert message.startswith("inner.count: Input should be")


def test_a_validators_message_comes_without_pydantics_prefix() -> None:
    assert first_error(_error({"inner": {"count": 1}, "name": "long"})) == "name: name is too long"


def test_a_problem_with_the_whole_value_is_named_by_top() -> None:
    assert first_error(_error([1]), top="the document").startswith("the document: Input should be")
    assert first_error(_error([1])).startswith("Input should be")


def test_other_errors_give_their_first_line_or_their_type() -> None:
    assert first_error(OSError("disk full\nmore detail")) == "disk full"
    assert first_error(KeyError()) == "KeyError"
