"""Typed actions: one discriminated union of frozen pydantic models, and the `Step`."""

from __future__ import annotations

import functools
import math
from typing import Annotated, Literal, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter

from actions.keys import canonical_key

MAX_TEXT = 10_000
MAX_PRESSES = 100
MAX_SCROLL = 10_000
MAX_WAIT_SECONDS = 60.0
MAX_ACTIONS_PER_STEP = 50

Space = Literal["relative", "image", "screen"]
"""Where a point lives: `relative` is a 0..1 fraction of the image the model saw, `image`
is pixels of that image, `screen` is global logical screen points (what the OS clicks)."""

Button = Literal["left", "right", "middle"]
Key = Annotated[str, AfterValidator(canonical_key)]


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("coordinate must be a finite number")
    return value


Coordinate = Annotated[float, AfterValidator(_finite)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Point(_Frozen):
    """A location together with the coordinate space it is expressed in."""

    x: Coordinate
    y: Coordinate
    space: Space


class Click(_Frozen):
    """Click `clicks` times with `button`, at `at` or where the pointer is."""

    type: Literal["click"] = "click"
    at: Point | None = None
    button: Button = "left"
    clicks: Literal[1, 2, 3] = 1


class MoveTo(_Frozen):
    type: Literal["move"] = "move"
    at: Point


class Drag(_Frozen):
    """Press `button` at the current pointer position, move to `to`, release."""

    type: Literal["drag"] = "drag"
    to: Point
    button: Button = "left"


class Scroll(_Frozen):
    """Scroll by wheel clicks; positive `dy` is up, positive `dx` is right (pyautogui)."""

    type: Literal["scroll"] = "scroll"
    dx: int = Field(0, ge=-MAX_SCROLL, le=MAX_SCROLL)
    dy: int = Field(0, ge=-MAX_SCROLL, le=MAX_SCROLL)
    at: Point | None = None


class TypeText(_Frozen):
    type: Literal["type"] = "type"
    text: str = Field(max_length=MAX_TEXT)


class Press(_Frozen):
    """Press each key in turn, the whole sequence `presses` times."""

    type: Literal["press"] = "press"
    keys: tuple[Key, ...] = Field(min_length=1, max_length=64)
    presses: int = Field(1, ge=1, le=MAX_PRESSES)


class Hotkey(_Frozen):
    """Hold the keys down in order, then release them in reverse order."""

    type: Literal["hotkey"] = "hotkey"
    keys: tuple[Key, ...] = Field(min_length=1, max_length=8)


class KeyDown(_Frozen):
    type: Literal["key_down"] = "key_down"
    key: Key


class KeyUp(_Frozen):
    type: Literal["key_up"] = "key_up"
    key: Key


class MouseDown(_Frozen):
    type: Literal["mouse_down"] = "mouse_down"
    button: Button = "left"
    at: Point | None = None


class MouseUp(_Frozen):
    type: Literal["mouse_up"] = "mouse_up"
    button: Button = "left"
    at: Point | None = None


class Wait(_Frozen):
    type: Literal["wait"] = "wait"
    seconds: float = Field(1.0, ge=0.0, le=MAX_WAIT_SECONDS, allow_inf_nan=False)


class Done(_Frozen):
    """The task is finished; `answer` carries the result when the task asks a question."""

    type: Literal["done"] = "done"
    answer: str | None = Field(None, max_length=MAX_TEXT)


class Fail(_Frozen):
    """The task cannot be done (also OSWorld's answer for infeasible tasks)."""

    type: Literal["fail"] = "fail"
    reason: str | None = Field(None, max_length=MAX_TEXT)


Action = Annotated[
    Union[
        Click, MoveTo, Drag, Scroll, TypeText, Press, Hotkey, KeyDown, KeyUp,
        MouseDown, MouseUp, Wait, Done, Fail,
    ],
    Field(discriminator="type"),
]
PointedAction = Click | MoveTo | Drag | Scroll | MouseDown | MouseUp
TERMINAL_TYPES = frozenset({"done", "fail"})


@functools.cache
def action_adapter() -> TypeAdapter[Action]:
    """The validator of any action (JSON text or Python data), built once on first use: building it
    costs more than validating an action, and a CLI that never validates one does not pay for it."""
    return TypeAdapter(Action)


class Step(_Frozen):
    """One model turn: its reasoning, its one-sentence intent and the actions to perform."""

    thought: str = ""
    intent: str = ""
    actions: tuple[Action, ...] = Field(min_length=1, max_length=MAX_ACTIONS_PER_STEP)

    @property
    def is_terminal(self) -> bool:
        """True when the step ends the episode (a `done` or `fail` action)."""
        return any(a.type in TERMINAL_TYPES for a in self.actions)
