"""THE table of calls a reply may make: how their arguments bind, what they yield, what they do.

The parser accepts exactly these names and binds arguments by these parameter lists; the
prompt (prompts/templates/actions.txt, prose for the model) names exactly the `taught`
calls; the code written back for Kimi-VL uses only these names. Tests check all three.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from actions.models import (
    Click, Done, Drag, Fail, Hotkey, KeyDown, KeyUp, MouseDown, MouseUp, MoveTo, Press, Scroll, TypeText,
    Wait,
)

DEFAULT_WAIT_SECONDS = 2.0
"""What `computer.wait()` and a bare `WAIT` wait for."""
VARIADIC_KEYS = "*keys"
"""A parameter list of just this takes every positional argument as a key (hotkey)."""
IGNORED_KEYWORDS = frozenset({"duration", "interval", "tween", "logScreenshot", "_pause", "mouseDownUp"})
"""Keywords that only shape the motion: accepted on any call (when literal) and dropped."""


@dataclass(frozen=True)
class Call:
    """One allowed call: `params` in positional order, the action models it can yield, what it does."""

    name: str
    params: tuple[str, ...]
    produces: tuple[type[BaseModel], ...]
    description: str
    bare: bool = False
    """Written as a bare name (`DONE`), never called."""
    taught: bool = True
    """Named in the prompt; the rest are spellings models write unasked, accepted all the same."""


_POINTER = ("x", "y")
_TABLE = (
    Call("pyautogui.click", _POINTER + ("clicks", "interval", "button", "duration"), (Click,),
         "click at (x, y), or where the pointer is; clicks=2 or button='right' when needed"),
    Call("pyautogui.doubleClick", _POINTER + ("interval", "button", "duration"), (Click,),
         "double-click at (x, y)"),
    Call("pyautogui.tripleClick", _POINTER + ("interval", "button", "duration"), (Click,),
         "triple-click at (x, y)"),
    Call("pyautogui.rightClick", _POINTER + ("interval", "duration"), (Click,), "right-click at (x, y)"),
    Call("pyautogui.middleClick", _POINTER + ("interval", "duration"), (Click,), "middle-click at (x, y)"),
    Call("pyautogui.moveTo", _POINTER + ("duration",), (MoveTo,), "move the pointer to (x, y)"),
    Call("pyautogui.dragTo", _POINTER + ("duration", "tween", "button"), (Drag,),
         "drag from the pointer's current position to (x, y)"),
    Call("pyautogui.scroll", ("clicks",) + _POINTER, (Scroll,),
         "scroll up for positive clicks, down for negative"),
    Call("pyautogui.vscroll", ("clicks",) + _POINTER, (Scroll,),
         "the same as pyautogui.scroll", taught=False),
    Call("pyautogui.hscroll", ("clicks",) + _POINTER, (Scroll,),
         "scroll right for positive clicks, left for negative"),
    Call("pyautogui.write", ("message", "interval"), (TypeText, Press),
         "type text (a list of key names presses them)"),
    Call("pyautogui.typewrite", ("message", "interval"), (TypeText, Press), "the same as pyautogui.write"),
    Call("pyautogui.press", ("keys", "presses", "interval"), (Press,),
         "press a key, or each key of a list in turn, `presses` times"),
    Call("pyautogui.keyDown", ("key",), (KeyDown,), "hold a key down"),
    Call("pyautogui.keyUp", ("key",), (KeyUp,), "release a held key"),
    Call("pyautogui.mouseDown", _POINTER + ("button", "duration"), (MouseDown,),
         "press a mouse button, at (x, y) if given"),
    Call("pyautogui.mouseUp", _POINTER + ("button", "duration"), (MouseUp,),
         "release a mouse button, at (x, y) if given"),
    Call("pyautogui.hotkey", (VARIADIC_KEYS,), (Hotkey,), "hold the keys down in order, then release them"),
    Call("time.sleep", ("seconds",), (Wait,), "pause between two calls"),
    Call("computer.wait", ("seconds",), (Wait,), "wait while the screen is still changing"),
    Call("computer.terminate", ("status", "answer"), (Done, Fail),
         "end the task: status='success' (with answer when the task asks for one) or 'failure'"),
    Call("DONE", (), (Done,), "the same as computer.terminate(status='success')", bare=True, taught=False),
    Call("FAIL", (), (Fail,), "the same as computer.terminate(status='failure')", bare=True, taught=False),
    Call("WAIT", (), (Wait,), "the same as computer.wait()", bare=True, taught=False),
)
CALLS: dict[str, Call] = {call.name: call for call in _TABLE}
