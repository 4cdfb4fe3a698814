"""Typed actions → pyautogui source for VM servers: the code is generated from validated values
only, text is a Python literal, and `<` goes as shift+comma (the reference harness's workaround)."""

from __future__ import annotations

import ast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actions.errors import ActionError
from actions.executors.remote import CodeExecutor, to_pyautogui
from actions.models import (
    Click, Done, Drag, Fail, Hotkey, KeyDown, KeyUp, MouseDown, MouseUp, MoveTo, Point, Press, Scroll,
    TypeText, Wait,
)

AT = Point(x=10.6, y=20.2, space="screen")


@pytest.mark.parametrize(("action", "code"), [
    (Click(at=AT), "pyautogui.click(10, 20, clicks=1, button='left', interval=0.05)"),
    (Click(button="right", clicks=2), "pyautogui.click(clicks=2, button='right', interval=0.05)"),
    (MoveTo(at=AT), "pyautogui.moveTo(10, 20)"),
    (Drag(to=AT), "pyautogui.dragTo(10, 20, duration=0.1, button='left')"),
    (Scroll(dy=-3, dx=2, at=AT), "pyautogui.moveTo(10, 20)\npyautogui.scroll(-3)\npyautogui.hscroll(2)"),
    (Press(keys=("enter", "tab"), presses=2), "pyautogui.press(['enter', 'tab'], presses=2)"),
    (Hotkey(keys=("ctrl", "shift", "t")), "pyautogui.hotkey('ctrl', 'shift', 't')"),
    (KeyDown(key="shift"), "pyautogui.keyDown('shift')"),
    (KeyUp(key="shift"), "pyautogui.keyUp('shift')"),
    (MouseDown(at=AT, button="middle"), "pyautogui.mouseDown(10, 20, button='middle')"),
    (MouseUp(), "pyautogui.mouseUp(button='left')"),
    (Wait(seconds=1.5), "time.sleep(1.5)"),
    (Done(answer="x"), ""),
    (Fail(), ""),
])
def test_each_action_becomes_one_fixed_pyautogui_form(action, code: str) -> None:
    assert to_pyautogui(action) == code


def test_less_than_is_sent_as_shift_comma() -> None:
    assert to_pyautogui(TypeText(text="a<b<")) == (
        "pyautogui.typewrite('a')\npyautogui.hotkey('shift', ',')\npyautogui.typewrite('b')\npyautogui.hotkey('shift', ',')"
    )


def test_points_must_be_resolved_first() -> None:
    with pytest.raises(ActionError, match="screen space"):
        to_pyautogui(Click(at=Point(x=0.5, y=0.5, space="relative")))


@given(st.text(max_size=200))
def test_any_text_is_a_literal_and_never_code(text: str) -> None:
    code = to_pyautogui(TypeText(text=text))
    tree = ast.parse(code) if code else ast.Module(body=[], type_ignores=[])
    typed = []
    for statement in tree.body:
        call = statement.value
        assert isinstance(call, ast.Call) and ast.unparse(call.func) in ("pyautogui.typewrite", "pyautogui.hotkey")
        if ast.unparse(call.func) == "pyautogui.typewrite":
            typed.append(ast.literal_eval(call.args[0]))
        else:
            typed.append("<")
    assert "".join(typed) == text


def test_the_code_executor_sends_nothing_for_done() -> None:
    sent: list[str] = []
    executor = CodeExecutor(sent.append)
    executor.execute(Done())
    executor.execute(Press(keys=("enter",)))
    assert sent == ["pyautogui.press(['enter'], presses=1)"]
