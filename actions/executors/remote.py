"""Typed actions as pyautogui source, for VM servers that only run code (OSWorld, WindowsAgentArena).

The source is generated from the typed action alone: every value is a validated number, a key
from the key table, or text written with `repr`, so model text can never become code. Points
must already be in `screen` space. pyautogui types `<` wrongly on those VMs; as the reference
harness does, each `<` is sent as shift+comma. These are pyautogui's own calls, not the
vocabulary the model writes (a test checks each one against pyautogui's source).
"""

from __future__ import annotations

from collections.abc import Callable

from actions.coords import point_of
from actions.errors import ExecutionError
from actions.models import (
    Action, Click, Done, Drag, Fail, Hotkey, KeyDown, KeyUp, MouseDown, MouseUp, MoveTo, Press, Scroll,
    TypeText, Wait,
)

PREFIX = "import pyautogui; import time; pyautogui.FAILSAFE = False; "
"""What the reference harness runs before an action's code (`python -c PREFIX + code`)."""
DRAG_SECONDS = 0.1


def to_pyautogui(action: Action) -> str:
    """pyautogui statements (one per line) performing `action`; '' for done/fail."""
    point = point_of(action)
    if point is not None and point.space != "screen":
        raise ExecutionError(f"{action.type}: resolve the point to screen space first")
    xy = f"{int(point.x)}, {int(point.y)}" if point is not None else ""
    match action:
        case Click():
            return f"pyautogui.click({xy + ', ' if xy else ''}clicks={action.clicks}, button={action.button!r}, interval=0.05)"
        case MoveTo():
            return f"pyautogui.moveTo({xy})"
        case Drag():
            return f"pyautogui.dragTo({xy}, duration={DRAG_SECONDS}, button={action.button!r})"
        case Scroll():
            lines = [f"pyautogui.moveTo({xy})"] if xy else []
            lines += [f"pyautogui.scroll({action.dy})"] if action.dy else []
            lines += [f"pyautogui.hscroll({action.dx})"] if action.dx else []
            return "\n".join(lines)
        case TypeText():
            return _type(action.text)
        case Press():
            return f"pyautogui.press({list(action.keys)!r}, presses={action.presses})"
        case Hotkey():
            return f"pyautogui.hotkey({', '.join(repr(k) for k in action.keys)})"
        case KeyDown():
            return f"pyautogui.keyDown({action.key!r})"
        case KeyUp():
            return f"pyautogui.keyUp({action.key!r})"
        case MouseDown():
            return f"pyautogui.mouseDown({xy + ', ' if xy else ''}button={action.button!r})"
        case MouseUp():
            return f"pyautogui.mouseUp({xy + ', ' if xy else ''}button={action.button!r})"
        case Wait():
            return f"time.sleep({float(action.seconds)!r})"
        case Done() | Fail():
            return ""
    raise ExecutionError(f"no pyautogui translation for {action.type}")


def _type(text: str) -> str:
    parts = text.split("<")
    lines: list[str] = []
    for index, part in enumerate(parts):
        if index:
            lines.append("pyautogui.hotkey('shift', ',')")
        if part:
            lines.append(f"pyautogui.typewrite({part!r})")
    return "\n".join(lines)


class CodeExecutor:
    """Performs actions by sending their pyautogui source to `run(code)` (a VM's /execute)."""

    def __init__(self, run: Callable[[str], None]) -> None:
        self.run = run

    def execute(self, action: Action) -> None:
        code = to_pyautogui(action)
        if code:
            self.run(code)
