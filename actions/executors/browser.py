"""Performs typed actions on a Playwright page; points are CSS pixels of the viewport."""

from __future__ import annotations

import time
from typing import Any

from actions.coords import point_of
from actions.errors import ExecutionError
from actions.models import (
    Action, Click, Done, Drag, Fail, Hotkey, KeyDown, KeyUp, MouseDown, MouseUp, MoveTo, Press, Scroll,
    TypeText, Wait,
)

WHEEL_PIXELS_PER_CLICK = 100
"""pyautogui scroll amounts are wheel clicks; a browser wheel click scrolls about 100 CSS px."""
DRAG_STEPS = 8

_NAMED = {
    "enter": "Enter", "return": "Enter", "tab": "Tab", "space": " ", "backspace": "Backspace",
    "delete": "Delete", "del": "Delete", "esc": "Escape", "escape": "Escape", "up": "ArrowUp",
    "down": "ArrowDown", "left": "ArrowLeft", "right": "ArrowRight", "home": "Home", "end": "End",
    "pageup": "PageUp", "pagedown": "PageDown", "pgup": "PageUp", "pgdn": "PageDown", "insert": "Insert",
    "ctrl": "Control", "ctrlleft": "Control", "ctrlright": "Control", "shift": "Shift",
    "shiftleft": "Shift", "shiftright": "Shift", "alt": "Alt", "altleft": "Alt", "altright": "Alt",
    "option": "Alt", "optionleft": "Alt", "optionright": "Alt", "win": "Meta", "winleft": "Meta",
    "winright": "Meta", "command": "Meta", "capslock": "CapsLock", "numlock": "NumLock",
    "scrolllock": "ScrollLock", "pause": "Pause", "printscreen": "PrintScreen", "prtsc": "PrintScreen",
    "prtscr": "PrintScreen", "prntscrn": "PrintScreen", "print": "PrintScreen",
    **{f"f{n}": f"F{n}" for n in range(1, 25)},
}


def playwright_key(name: str) -> str:
    """Playwright's name for a pyautogui key name."""
    if len(name) == 1:
        return {"\n": "Enter", "\r": "Enter", "\t": "Tab"}.get(name, name)
    try:
        return _NAMED[name]
    except KeyError:
        raise ExecutionError(f"the browser cannot press {name!r}") from None


class PlaywrightExecutor:
    """Mouse and keyboard through a Playwright `Page`."""

    def __init__(self, page: Any) -> None:
        self.page = page

    def execute(self, action: Action) -> None:
        point = point_of(action)
        if point is not None and point.space != "screen":
            raise ExecutionError(f"{action.type}: the point is in {point.space} space; resolve it to screen first")
        xy = (point.x, point.y) if point is not None else None
        mouse, keyboard = self.page.mouse, self.page.keyboard
        match action:
            case Click():
                if xy is None:
                    raise ExecutionError("a click in the browser needs a point")
                mouse.click(*xy, button=action.button, click_count=action.clicks)
            case MoveTo():
                mouse.move(*xy)
            case Drag():
                mouse.down(button=action.button)
                mouse.move(*xy, steps=DRAG_STEPS)
                mouse.up(button=action.button)
            case Scroll():
                if xy is not None:
                    mouse.move(*xy)
                mouse.wheel(action.dx * WHEEL_PIXELS_PER_CLICK, -action.dy * WHEEL_PIXELS_PER_CLICK)
            case TypeText():
                keyboard.type(action.text)
            case Press():
                for _ in range(action.presses):
                    for key in action.keys:
                        keyboard.press(playwright_key(key))
            case Hotkey():
                keyboard.press("+".join(playwright_key(k) for k in action.keys))
            case KeyDown():
                keyboard.down(playwright_key(action.key))
            case KeyUp():
                keyboard.up(playwright_key(action.key))
            case MouseDown():
                if xy is not None:
                    mouse.move(*xy)
                mouse.down(button=action.button)
            case MouseUp():
                if xy is not None:
                    mouse.move(*xy)
                mouse.up(button=action.button)
            case Wait():
                time.sleep(action.seconds)  # the model asked for this pause
            case Done() | Fail():
                pass
