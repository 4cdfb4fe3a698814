"""Input events → typed actions, as a person's demonstration produces them."""

from __future__ import annotations

import pytest

from actions.keys import UnknownKeyError
from actions.models import Click, Drag, Hotkey, MoveTo, Point, Press, Scroll, TypeText
from agent.record.input_grouping import (
    ActionGrouper, KeyStroke, MouseButton, Wheel, normalize_key, parse_hotkey,
)

STOP = parse_hotkey("ctrl+alt+q")


def screen(x: int, y: int) -> Point:
    return Point(x=x, y=y, space="screen")


def click(t: float, x: int, y: int, button: str = "left") -> list:
    return [MouseButton(t, x, y, button, True, frame=f"before {t}"), MouseButton(t + 0.05, x, y, button, False)]


def keys(t: float, *names: str) -> list:
    events = []
    for i, name in enumerate(names):
        events += [KeyStroke(t + 0.1 * i, name, True, frame=f"before {t + 0.1 * i}"), KeyStroke(t + 0.1 * i + 0.03, name, False)]
    return events


def chord(t: float, *names: str) -> list:
    downs = [KeyStroke(t + 0.01 * i, n, True, frame=f"before {t}") for i, n in enumerate(names)]
    return downs + [KeyStroke(t + 0.1, n, False) for n in reversed(names)]


def group(events: list) -> tuple[list, ActionGrouper]:
    grouper = ActionGrouper(STOP)
    steps = [step for event in events for step in grouper.feed(event)]
    return steps + grouper.flush(), grouper


def test_clicks_double_clicks_and_buttons() -> None:
    steps, _ = group(click(0.0, 100, 200) + click(1.0, 300, 300) + click(1.2, 301, 299) + click(2.0, 50, 50, "right"))
    assert [s.actions for s in steps] == [
        (Click(at=screen(100, 200)),),
        (Click(at=screen(300, 300), clicks=2),),
        (Click(at=screen(50, 50), button="right"),),
    ]
    assert steps[1].frame == "before 1.0" and steps[1].description == "recorded: double-click at (300, 300)"
    assert steps[2].description == "recorded: right-click at (50, 50)"


def test_two_clicks_more_than_400_ms_apart_or_far_apart_stay_two_clicks() -> None:
    steps, _ = group(click(0.0, 10, 10) + click(0.5, 10, 10) + click(0.6, 40, 10))
    assert [s.actions[0].clicks for s in steps] == [1, 1, 1]


def test_a_press_and_release_far_apart_is_a_drag_from_the_press() -> None:
    events = [MouseButton(0.0, 10, 20, "left", True, frame="before drag"), MouseButton(0.4, 300, 420, "left", False)]
    [step], _ = group(events)
    assert step.actions == (MoveTo(at=screen(10, 20)), Drag(to=screen(300, 420)))
    assert step.frame == "before drag" and step.description == "recorded: drag from (10, 20) to (300, 420)"


def test_wheel_clicks_in_a_row_are_one_scroll_and_a_direction_change_starts_another() -> None:
    events = [Wheel(0.1 * i, 500, 400, 0, -1, frame=f"w{i}") for i in range(3)] + [Wheel(0.4, 500, 400, 0, 1)]
    steps, _ = group(events)
    assert [s.actions for s in steps] == [(Scroll(dy=-3, at=screen(500, 400)),), (Scroll(dy=1, at=screen(500, 400)),)]
    assert steps[0].frame == "w0"


def test_printable_keys_are_typed_text_and_special_keys_presses() -> None:
    shifted = [KeyStroke(1.0, "shift", True), KeyStroke(1.01, "H", True, frame="H"), KeyStroke(1.02, "shift", False)]
    events = keys(0.0, "e", "c", "h", "o", " ") + shifted + keys(1.1, "i", "!") + keys(2.0, "enter") + keys(3.0, "backspace", "backspace")
    steps, _ = group(events)
    assert [s.actions for s in steps] == [
        (TypeText(text="echo Hi!"),), (Press(keys=("enter",)),), (Press(keys=("backspace",), presses=2),),
    ]
    assert steps[0].frame == "before 0.0" and steps[0].description == "recorded: type 'echo Hi!'"


def test_modifier_combinations_are_hotkeys_and_the_stop_hotkey_ends_without_being_recorded() -> None:
    events = keys(0.0, "l", "s") + chord(1.0, "ctrl", "shift", "T") + chord(2.0, "shift", "tab") + chord(3.0, "ctrl", "alt", "q")
    steps, grouper = group(events + keys(4.0, "x"))
    assert [s.actions for s in steps[:3]] == [
        (TypeText(text="ls"),), (Hotkey(keys=("ctrl", "shift", "t")),), (Hotkey(keys=("shift", "tab")),),
    ]
    assert grouper.stopped
    assert steps[1].description == "recorded: hotkey ctrl+shift+t"


def test_a_lone_modifier_makes_no_action_and_an_impossible_hotkey_is_reported() -> None:
    steps, grouper = group(keys(0.0, "shift") + chord(1.0, "ctrl", "é"))
    assert steps == [] and grouper.skipped == ["ctrl+é"]


def test_pynput_key_names_become_pyautogui_names() -> None:
    assert [normalize_key(n, None) for n in ("ctrl_l", "alt_gr", "cmd", "page_down", "enter", "space", "media_play_pause")] == [
        "ctrl", "alt", "win", "pagedown", "enter", " ", None,
    ]
    assert [normalize_key(None, c) for c in ("a", "é", None, "\x03")] == ["a", "é", None, None]
    with pytest.raises(UnknownKeyError):
        parse_hotkey("ctrl+nosuchkey")
