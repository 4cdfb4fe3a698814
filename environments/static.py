"""`StaticEnv`: a generated screen with no display, browser or VM behind it.

The screen is drawn in memory: a row of buttons, a text field and a status line. Clicking a
button toggles it, typing edits the field, Enter submits it (written to `~/field.txt` of the
task's machine, so a task's evaluator can check it), scrolling moves a counter. Rendering is
synchronous, so there is nothing to wait for after an action. It exists to measure and test
the harness (loop, policy, trajectories, `eval` workers) at scales where a real desktop or
browser per worker does not fit: it is not a stand-in for any application.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw

from actions.errors import ExecutionError
from actions.models import (
    Action, Click, Done, Drag, Fail, Hotkey, KeyDown, KeyUp, MouseDown, MouseUp, MoveTo, Press, Scroll,
    TypeText, Wait,
)
from environments.base import ScreenEnv, SettleInfo, TaskOptions
from environments.screen import Monitor, Screenshot
from environments.tasks.machine import LocalMachine

BUTTONS = 6
BUTTON_SIZE = (160, 60)
FIELD_FILE = "field.txt"


@dataclass
class ScreenState:
    """What the generated screen shows."""

    pointer: tuple[int, int] = (0, 0)
    pressed: list[bool] = field(default_factory=lambda: [False] * BUTTONS)
    text: str = ""
    submitted: str = ""
    scroll: int = 0
    last: str = "ready"


def button_box(index: int) -> tuple[int, int, int, int]:
    """left, top, right, bottom of button `index`."""
    left = 40 + index * (BUTTON_SIZE[0] + 20)
    return left, 80, left + BUTTON_SIZE[0], 80 + BUTTON_SIZE[1]


class StateExecutor:
    """Applies actions (points in screen space) to a `ScreenState`; `submit` gets the field on Enter."""

    def __init__(self, state: ScreenState, size: tuple[int, int], submit: Callable[[str], None]) -> None:
        self.state, self.size, self.submit = state, size, submit

    def execute(self, action: Action) -> None:
        s = self.state
        point = getattr(action, "at", None) or getattr(action, "to", None)
        if point is not None:
            s.pointer = (min(max(int(point.x), 0), self.size[0] - 1), min(max(int(point.y), 0), self.size[1] - 1))
        match action:
            case Click() | MouseDown():
                for i in range(BUTTONS):
                    left, top, right, bottom = button_box(i)
                    if left <= s.pointer[0] < right and top <= s.pointer[1] < bottom:
                        s.pressed[i] = not s.pressed[i]
            case TypeText():
                s.text = (s.text + action.text)[-200:]
            case Press():
                for key in action.keys * action.presses:
                    self._key(key)
            case Hotkey():
                if tuple(action.keys) == ("ctrl", "a"):
                    s.text = ""
            case Scroll():
                s.scroll += action.dy
            case MoveTo() | Drag() | MouseUp() | KeyDown() | KeyUp() | Wait() | Done() | Fail():
                pass
            case _:
                raise ExecutionError(f"{action.type}: not supported on the generated screen")
        s.last = action.type

    def _key(self, key: str) -> None:
        s = self.state
        if key == "enter":
            s.submitted = s.text
            self.submit(s.text)
            s.text = ""
        elif key == "backspace":
            s.text = s.text[:-1]
        elif len(key) == 1:
            s.text += key


def render(state: ScreenState, size: tuple[int, int], instruction: str) -> Image.Image:
    """The screen for `state`: buttons, the text field, a status line and the pointer."""
    image = Image.new("RGB", size, (236, 239, 244))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, size[0], 40), fill=(46, 52, 64))
    draw.text((12, 14), f"Generated screen - {instruction[:120]}", fill=(236, 239, 244))
    for i, pressed in enumerate(state.pressed):
        box = button_box(i)
        draw.rectangle(box, fill=(94, 129, 172) if pressed else (216, 222, 233), outline=(59, 66, 82))
        draw.text((box[0] + 12, box[1] + 22), f"Button {i + 1}{' (on)' if pressed else ''}", fill=(46, 52, 64))
    draw.rectangle((40, 200, size[0] - 40, 250), fill=(255, 255, 255), outline=(59, 66, 82))
    draw.text((52, 218), state.text + "|", fill=(46, 52, 64))
    draw.text((40, 270), f"submitted: {state.submitted[:150]}", fill=(46, 52, 64))
    draw.text((40, size[1] - 30), f"last action: {state.last}   scroll: {state.scroll}", fill=(76, 86, 106))
    x, y = state.pointer
    draw.polygon([(x, y), (x, y + 16), (x + 11, y + 11)], fill=(0, 0, 0))
    return image


class StaticEnv(ScreenEnv):
    """A generated screen of `width`×`height`; see the module docstring and `ScreenEnv` for the API."""

    def __init__(self, width: int = 1280, height: int = 800, render_mode: str | None = None) -> None:
        self.size = (width, height)
        self._home: Path | None = None
        self._monitor = Monitor(1, 0, 0, width, height, 1.0)
        super().__init__(width, height, StateExecutor(ScreenState(), self.size, self._submit), render_mode)

    @property
    def state(self) -> ScreenState:
        """What the screen shows (the executor's, which actions change)."""
        return self.executor.state

    def _submit(self, text: str) -> None:
        if self._home is not None:
            (self._home / FIELD_FILE).write_text(text + "\n", encoding="utf-8")

    def _task_machine(self, home: Path, cache: Path) -> LocalMachine:
        self._home = home
        return LocalMachine(home, cache, self.size)

    def reset(self, *, seed: int | None = None, options: TaskOptions | dict | None = None) -> tuple[dict, dict]:
        self.executor.state = ScreenState()
        self._home = None
        return super().reset(seed=seed, options=options)

    def _draw(self) -> Screenshot:
        return Screenshot(render(self.state, self.size, self.instruction), self._monitor, time.time())

    def _initial_frame(self) -> Screenshot:
        return self._draw()

    def _settle(self) -> tuple[Screenshot, SettleInfo, float]:
        """Rendering is synchronous: the frame after an action is final at once."""
        started = time.perf_counter()
        shot = self._draw()
        changed = ImageChops.difference(shot.image, self.last_screenshot.image).getbbox() is not None
        return shot, SettleInfo(seconds=0.0, frames=1, stable=True, changed=changed), time.perf_counter() - started
