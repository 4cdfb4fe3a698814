"""Typed actions: frozen, validated, one JSON round trip; and the canonical key table."""

from __future__ import annotations

import pydantic
import pytest

from actions import Click, Done, Hotkey, KeyDown, Point, Press, Step, TypeText, Wait
from actions.keys import UnknownKeyError, canonical_key
from actions.models import Action

ADAPTER = pydantic.TypeAdapter(Action)


@pytest.mark.parametrize(
    ("name", "canonical"),
    [("enter", "enter"), ("Enter", "enter"), ("ESC", "esc"), ("control", "ctrl"), ("cmd", "command"),
     ("page_down", "pagedown"), ("Page Down", "pagedown"), ("A", "A"), ("a", "a"), ("\n", "\n"), (" ", " "),
     ("F11", "f11"), ("super", "win"), ("ArrowUp", "up"), ("num_lock", "numlock")],
)
def test_keys_are_canonicalised(name: str, canonical: str) -> None:
    assert canonical_key(name) == canonical


@pytest.mark.parametrize("name", ["", "notakey", "ctrl+c", "f25", "é", "\x0b"])
def test_unknown_keys_are_refused(name: str) -> None:
    with pytest.raises(UnknownKeyError):
        canonical_key(name)


def test_actions_are_frozen_and_strict() -> None:
    click = Click(at=Point(x=0.5, y=0.5, space="relative"))
    with pytest.raises(pydantic.ValidationError):
        click.clicks = 2
    with pytest.raises(pydantic.ValidationError):
        Click(clicks=4)
    with pytest.raises(pydantic.ValidationError):
        Click(button="side")
    with pytest.raises(pydantic.ValidationError):
        Click(extra=1)
    with pytest.raises(pydantic.ValidationError):
        Press(keys=())
    with pytest.raises(pydantic.ValidationError):
        Wait(seconds=61)
    with pytest.raises(pydantic.ValidationError):
        TypeText(text="x" * 10_001)


@pytest.mark.parametrize(
    "action",
    [Click(at=Point(x=0.5, y=0.5, space="relative"), clicks=2), Press(keys=("ctrl",), presses=3),
     Hotkey(keys=("ctrl", "s")), KeyDown(key="shift"), Done(answer="ok"), TypeText(text="héllo\n")],
)
def test_json_round_trip(action: Action) -> None:
    assert ADAPTER.validate_json(ADAPTER.dump_json(action)) == action


def test_step_is_terminal_on_done_or_fail() -> None:
    assert Step(actions=(TypeText(text="a"), Done())).is_terminal
    assert not Step(actions=(TypeText(text="a"),)).is_terminal
    with pytest.raises(pydantic.ValidationError):
        Step(actions=())
