"""Performs typed actions on the local X display with pyautogui.

pyautogui binds to the display named by DISPLAY when it is first imported, so it is
imported here lazily, on the first action, after the environment has set DISPLAY.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any

from actions.coords import point_of
from actions.errors import ExecutionError, FailSafeTriggered
from actions.models import (
    Action, Click, Done, Drag, Fail, Hotkey, KeyDown, KeyUp, MouseDown, MouseUp, MoveTo, Point, Press, Scroll,
    TypeText, Wait,
)

NON_ASCII_KEY_DELAY_MS = 25
"""xdotool remaps a spare keycode for each character missing from the keymap; with no delay
the application reads the keymap after it has changed back and drops the character."""
REPEAT_GAP_SECONDS = 0.02
"""Pause before a key that repeats the previous one: with none, the release and the next press
arrive with the same timestamp, which toolkits such as LibreOffice's read as auto-repeat and drop."""
DRAG_SECONDS = 0.1
"""Drags move over this long: apps ignore a press and release with no motion between."""


def _pyautogui(fail_safe: bool) -> Any:
    if not os.environ.get("DISPLAY"):
        raise ExecutionError("DISPLAY is not set: there is no X display to act on")
    ensure_xauthority()
    try:
        import pyautogui
    except Exception as err:  # Xlib raises its own error types when the display refuses us
        raise ExecutionError(f"pyautogui cannot open display {os.environ['DISPLAY']}: {err}") from err

    bound = getattr(pyautogui, "_kimi_display", None)
    if bound is not None and bound != os.environ["DISPLAY"]:
        raise ExecutionError(
            f"pyautogui is bound to display {bound} in this process; run one environment per process"
        )
    pyautogui._kimi_display = os.environ["DISPLAY"]
    pyautogui.PAUSE = 0  # settling after each action replaces pyautogui's fixed 0.1 s pause
    pyautogui.FAILSAFE = fail_safe
    return pyautogui


def rebind_display(display: str) -> None:
    """Give an already imported pyautogui a fresh connection to `display`.

    pyautogui opens one Xlib connection when first imported and keeps it in a module global; an
    environment rebuilt in the same process after its display died needs a connection to the new
    one (which may even reuse the dead display's number).
    """
    gui = sys.modules.get("pyautogui")
    if gui is None or getattr(gui, "_kimi_display", None) is None:
        return  # not imported yet: the first action imports it on the right display
    from pyautogui import _pyautogui_x11
    from Xlib.display import Display

    old, _pyautogui_x11._display = _pyautogui_x11._display, Display(display)
    gui._kimi_display = display
    try:
        old.close()
    except Exception:  # noqa: BLE001  the old display is usually gone: its connection cannot close cleanly
        pass


def ensure_xauthority() -> None:
    """python-xlib refuses to connect when ~/.Xauthority is missing, even to a display that
    needs no authorisation (Xvfb); point it at an empty file instead."""
    if os.environ.get("XAUTHORITY") or os.path.exists(os.path.expanduser("~/.Xauthority")):
        return
    fd, path = tempfile.mkstemp(prefix="kimi-agent-xauth-")
    os.close(fd)
    os.environ["XAUTHORITY"] = path


class PyAutoGUIExecutor:
    """Mouse and keyboard through pyautogui; non-ASCII text through `xdotool type`."""

    def __init__(self, fail_safe: bool = True) -> None:
        self.fail_safe = fail_safe
        self._gui: Any = None

    @property
    def gui(self) -> Any:
        if self._gui is None:
            self._gui = _pyautogui(self.fail_safe)
        return self._gui

    def execute(self, action: Action) -> None:
        point = point_of(action)
        if point is not None and point.space != "screen":
            raise ExecutionError(f"{action.type}: the point is in {point.space} space; resolve it to screen first")
        gui = self.gui
        try:
            self._perform(action, point)
        except ExecutionError:
            raise
        except gui.FailSafeException as err:
            raise FailSafeTriggered(
                f"pyautogui's fail-safe fired: the pointer was in a screen corner when a {action.type} action began"
            ) from err
        except Exception as err:  # pyautogui and Xlib raise many unrelated types
            raise ExecutionError(f"{action.type} failed: {type(err).__name__}: {err}") from err

    def _perform(self, action: Action, point: Point | None) -> None:
        gui = self.gui
        xy = (int(point.x), int(point.y)) if point is not None else (None, None)
        match action:
            case Click():
                gui.click(*xy, clicks=action.clicks, button=action.button, interval=0.05 if action.clicks > 1 else 0.0)
            case MoveTo():
                gui.moveTo(*xy)
            case Drag():
                gui.mouseDown(button=action.button)
                gui.moveTo(*xy, duration=DRAG_SECONDS)
                gui.mouseUp(button=action.button)
            case Scroll():
                if action.dy:
                    gui.scroll(action.dy, *xy)
                if action.dx:
                    gui.hscroll(action.dx, *xy)
            case TypeText():
                self._type(action.text)
            case Press():
                self._press_keys(list(action.keys) * action.presses)
            case Hotkey():
                gui.hotkey(*action.keys)
            case KeyDown():
                gui.keyDown(action.key)
            case KeyUp():
                gui.keyUp(action.key)
            case MouseDown():
                gui.mouseDown(*xy, button=action.button)
            case MouseUp():
                gui.mouseUp(*xy, button=action.button)
            case Wait():
                time.sleep(action.seconds)  # the model asked for this pause
            case Done() | Fail():
                pass

    def _press_keys(self, keys: list[str]) -> None:
        for index, run in enumerate(runs_without_repeats(keys)):
            if index:
                time.sleep(REPEAT_GAP_SECONDS)
            self.gui.press(run)

    def _type(self, text: str) -> None:
        if text.isascii():
            for index, run in enumerate(runs_without_repeats(list(text))):
                if index:
                    time.sleep(REPEAT_GAP_SECONDS)
                for part_index, part in enumerate("".join(run).split("<")):
                    if part_index:  # pyautogui types '<' as '>' on X: it is shift+comma there
                        self.gui.hotkey("shift", ",")
                    if part:
                        self.gui.write(part)
            return
        if shutil.which("xdotool") is None:
            raise ExecutionError("typing non-ASCII text needs xdotool (apt-get install xdotool)")
        # xdotool reads the text from argv; no shell is involved.
        subprocess.run(["xdotool", "type", "--delay", str(NON_ASCII_KEY_DELAY_MS), "--", text], check=True, timeout=60)


def runs_without_repeats(keys: list[str]) -> list[list[str]]:
    """`keys` cut wherever a key repeats the one before it: ["a","b","b","c"] → [["a","b"],["b","c"]]."""
    runs: list[list[str]] = []
    for key in keys:
        if runs and runs[-1][-1] != key:
            runs[-1].append(key)
        else:
            runs.append([key])
    return runs
