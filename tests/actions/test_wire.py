"""The exact JSON shapes `kimi-agent parse` prints."""

from __future__ import annotations

import pytest

from actions import Frame, parse_reply
from actions.wire import step_to_wire

FRAME = Frame.of_size(1920, 1080)


@pytest.mark.parametrize(
    ("line", "shape"),
    [
        ("pyautogui.click(0.5, 0.5)", {"type": "click", "x": 960, "y": 540, "button": "left", "clicks": 1}),
        ("pyautogui.click()", {"type": "click", "x": None, "y": None, "button": "left", "clicks": 1}),
        ("pyautogui.doubleClick(0.1, 0.1)", {"type": "click", "x": 192, "y": 108, "button": "left", "clicks": 2}),
        ("pyautogui.tripleClick(10, 20)", {"type": "click", "x": 10, "y": 20, "button": "left", "clicks": 3}),
        ("pyautogui.rightClick(0.1, 0.1)", {"type": "click", "x": 192, "y": 108, "button": "right", "clicks": 1}),
        ("pyautogui.middleClick(0.1, 0.1)", {"type": "click", "x": 192, "y": 108, "button": "middle", "clicks": 1}),
        ("pyautogui.moveTo(0.25, 0.75)", {"type": "move", "x": 480, "y": 810}),
        ("pyautogui.dragTo(0.25, 0.75)", {"type": "drag", "x": 480, "y": 810, "button": "left"}),
        ("pyautogui.scroll(-3)", {"type": "scroll", "dx": 0, "dy": -3, "x": None, "y": None}),
        ("pyautogui.hscroll(2, 0.5, 0.5)", {"type": "scroll", "dx": 2, "dy": 0, "x": 960, "y": 540}),
        ("pyautogui.write('hi')", {"type": "type", "text": "hi"}),
        ("pyautogui.press('tab', presses=2)", {"type": "press", "keys": ["tab"], "presses": 2}),
        ("pyautogui.hotkey('ctrl', 's')", {"type": "hotkey", "keys": ["ctrl", "s"]}),
        ("pyautogui.keyDown('shift')", {"type": "key_down", "key": "shift"}),
        ("pyautogui.keyUp('shift')", {"type": "key_up", "key": "shift"}),
        ("pyautogui.mouseDown(0.5, 0.5)", {"type": "mouse_down", "button": "left", "x": 960, "y": 540}),
        ("pyautogui.mouseUp(button='right')", {"type": "mouse_up", "button": "right", "x": None, "y": None}),
        ("time.sleep(1.5)", {"type": "wait", "seconds": 1.5}),
        ("computer.terminate(status='success', answer='7')", {"type": "done", "answer": "7"}),
        ("computer.terminate(status='failure')", {"type": "fail", "reason": None}),
    ],
)
def test_shapes(line: str, shape: dict) -> None:
    wire = step_to_wire(parse_reply(f"```python\n{line}\n```"), FRAME)
    assert wire["actions"] == [shape]


def test_relative_coordinates_round_half_up_and_stay_on_screen() -> None:
    wire = step_to_wire(parse_reply("```\npyautogui.click(0.00026, 1.0)\n```"), FRAME)
    assert (wire["actions"][0]["x"], wire["actions"][0]["y"]) == (0, 1079)
    wire = step_to_wire(parse_reply("```\npyautogui.click(0.0003, 0.5)\n```"), FRAME)
    assert wire["actions"][0]["x"] == 1
