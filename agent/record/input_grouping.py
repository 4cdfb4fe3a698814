"""Grouping X input events into the typed actions the agent itself would emit.

A double click within 400 ms is one `Click(clicks=2)`, a press and release far apart a
`MoveTo` + `Drag`, wheel clicks in a row one `Scroll`, printable keys in a row one `TypeText`,
a special key a `Press`, and a key with Ctrl, Alt or Super held (or Shift with a special key)
a `Hotkey`. Lone modifier taps make no action; a modifier held during a click is not kept
(no action expresses it). Pure: events in, steps out; no X needed. Each event carries the
frame its producer captured just before it, opaque here, and a step keeps its first event's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError

from actions.keys import UnknownKeyError, canonical_key
from actions.models import Action, Button, Click, Drag, Hotkey, MoveTo, Point, Press, Scroll, TypeText

DOUBLE_CLICK_SECONDS = 0.4
CLICK_SLOP_PX = 4
"""A press and release (or two clicks) closer than this are at the same place; farther is a drag."""
MERGE_GAP_SECONDS = 0.5
"""Wheel clicks, or repeats of one key, closer together than this are one action."""
MODIFIERS = ("ctrl", "alt", "shift", "win")
_PYNPUT_NAMES = {
    "ctrl_l": "ctrl", "ctrl_r": "ctrl", "alt_l": "alt", "alt_r": "alt", "alt_gr": "alt",
    "shift_l": "shift", "shift_r": "shift", "cmd": "win", "cmd_l": "win", "cmd_r": "win", "menu": "apps",
}


@dataclass(frozen=True)
class MouseButton:
    t: float
    x: int
    y: int
    button: Button
    pressed: bool
    frame: Any = None


@dataclass(frozen=True)
class Wheel:
    t: float
    x: int
    y: int
    dx: int
    dy: int
    """Wheel clicks; positive is up / right, as in pyautogui."""
    frame: Any = None


@dataclass(frozen=True)
class KeyStroke:
    t: float
    key: str
    """A pyautogui key name, or the single character typed."""
    pressed: bool
    frame: Any = None


InputEvent = MouseButton | Wheel | KeyStroke


@dataclass(frozen=True)
class Demonstrated:
    """One step of a demonstration: its actions, a description, and the frame before it."""

    actions: tuple[Action, ...]
    description: str
    frame: Any
    started_at: float
    ended_at: float


@dataclass
class _Pending:
    """An action that later events may still extend (a click becoming a double click, a text run)."""

    kind: Literal["click", "scroll", "text", "press"]
    first: InputEvent
    ended_at: float
    button: Button = "left"
    count: int = 1
    """Clicks of a click, presses of a key."""
    dx: int = 0
    dy: int = 0
    text: str = ""

    def finished(self) -> Demonstrated:
        e = self.first
        at = Point(x=e.x, y=e.y, space="screen") if isinstance(e, (MouseButton, Wheel)) else None
        if self.kind == "click":
            name = {1: "click", 2: "double-click", 3: "triple-click"}[self.count]
            prefix = "" if self.button == "left" else f"{self.button}-"
            actions, what = (Click(at=at, button=self.button, clicks=self.count),), f"{prefix}{name} at ({e.x}, {e.y})"
        elif self.kind == "scroll":
            actions, what = (Scroll(dx=self.dx, dy=self.dy, at=at),), f"scroll dx={self.dx} dy={self.dy} at ({e.x}, {e.y})"
        elif self.kind == "text":
            actions, what = (TypeText(text=self.text),), f"type {self.text!r}"
        else:
            actions = (Press(keys=(e.key,), presses=self.count),)
            what = f"press {e.key}" + (f" ×{self.count}" if self.count > 1 else "")
        return Demonstrated(actions, f"recorded: {what}", e.frame, e.t, self.ended_at)


def normalize_key(name: str | None, char: str | None) -> str | None:
    """pyautogui's name for a pynput key (`name` of a special key, or the `char` typed); None if it has none."""
    if name is not None:
        if name == "space":
            return " "
        try:
            return canonical_key(_PYNPUT_NAMES.get(name, name))
        except UnknownKeyError:
            return None
    return char if char is not None and len(char) == 1 and char.isprintable() else None


@dataclass
class ActionGrouper:
    """Turns input events, in order, into demonstrated steps; `stopped` once the stop hotkey is pressed."""

    stop_keys: frozenset[str]
    stopped: bool = False
    skipped: list[str] = field(default_factory=list)
    """Key combinations that make no valid action (e.g. a hotkey on a non-ASCII key)."""
    _held: list[str] = field(default_factory=list)
    _down: MouseButton | None = None
    _extending: bool = False
    _pending: _Pending | None = None

    def feed(self, event: InputEvent) -> list[Demonstrated]:
        """The steps `event` completes (usually none or one)."""
        if isinstance(event, MouseButton) and event.pressed:
            self._extending = self._extends_click(event)
            self._down = event
            return [] if self._extending else self.flush()
        if isinstance(event, MouseButton):
            return self._release(event)
        if isinstance(event, Wheel):
            return self._wheel(event)
        if event.pressed:
            return self._key_down(event)
        if event.key in self._held:
            self._held.remove(event.key)
        return []

    def flush(self) -> list[Demonstrated]:
        """The pending step, finished (at a stop, or before an event that cannot extend it)."""
        pending, self._pending = self._pending, None
        return [pending.finished()] if pending else []

    def _extends_click(self, press: MouseButton) -> bool:
        p = self._pending
        return (
            p is not None and p.kind == "click" and p.button == press.button and p.count < 3
            and press.t - p.ended_at <= DOUBLE_CLICK_SECONDS and _distance(p.first, press) <= CLICK_SLOP_PX
        )

    def _release(self, release: MouseButton) -> list[Demonstrated]:
        down, self._down = self._down, None
        if down is None or down.button != release.button:
            return []  # pressed before the recording started
        if _distance(down, release) > CLICK_SLOP_PX:
            start = Point(x=down.x, y=down.y, space="screen")
            end = Point(x=release.x, y=release.y, space="screen")
            drag = Demonstrated(
                (MoveTo(at=start), Drag(to=end, button=release.button)),
                f"recorded: drag from ({down.x}, {down.y}) to ({release.x}, {release.y})",
                down.frame, down.t, release.t,
            )
            return [*self.flush(), drag]
        if self._extending and self._pending is not None:
            self._pending.count += 1
            self._pending.ended_at = release.t
            return []
        self._pending = _Pending("click", down, release.t, button=release.button)
        return []

    def _wheel(self, wheel: Wheel) -> list[Demonstrated]:
        p = self._pending
        if (
            p is not None and p.kind == "scroll" and wheel.t - p.ended_at <= MERGE_GAP_SECONDS
            and _distance(p.first, wheel) <= CLICK_SLOP_PX and _sign(p.dx) == _sign(wheel.dx) and _sign(p.dy) == _sign(wheel.dy)
        ):
            p.dx, p.dy, p.ended_at = p.dx + wheel.dx, p.dy + wheel.dy, wheel.t
            return []
        done = self.flush()
        self._pending = _Pending("scroll", wheel, wheel.t, dx=wheel.dx, dy=wheel.dy)
        return done

    def _key_down(self, stroke: KeyStroke) -> list[Demonstrated]:
        key, p = stroke.key, self._pending
        if key in MODIFIERS:
            if key not in self._held:
                self._held.append(key)
            return []
        chorded = any(m != "shift" for m in self._held) or (bool(self._held) and len(key) > 1)
        if chorded:
            return self._hotkey(stroke)
        if len(key) == 1:
            if p is not None and p.kind == "text":
                p.text, p.ended_at = p.text + key, stroke.t
                return []
            done = self.flush()
            self._pending = _Pending("text", stroke, stroke.t, text=key)
            return done
        if p is not None and p.kind == "press" and p.first.key == key and stroke.t - p.ended_at <= MERGE_GAP_SECONDS:
            p.count, p.ended_at = p.count + 1, stroke.t
            return []
        done = self.flush()
        self._pending = _Pending("press", stroke, stroke.t)
        return done

    def _hotkey(self, stroke: KeyStroke) -> list[Demonstrated]:
        keys = (*self._held, stroke.key.lower() if stroke.key.isalpha() else stroke.key)
        done = self.flush()
        if frozenset(keys) == self.stop_keys:
            self.stopped = True
            return done
        try:
            action = Hotkey(keys=keys)
        except ValidationError:
            self.skipped.append("+".join(keys))
            return done
        return [*done, Demonstrated((action,), f"recorded: hotkey {'+'.join(action.keys)}", stroke.frame, stroke.t, stroke.t)]


def _distance(a: MouseButton | Wheel, b: MouseButton | Wheel) -> float:
    return math.hypot(a.x - b.x, a.y - b.y)


def _sign(n: int) -> int:
    return (n > 0) - (n < 0)


def parse_hotkey(text: str) -> frozenset[str]:
    """'ctrl+alt+q' → its canonical key names; raises `UnknownKeyError` for an unknown name."""
    return frozenset(canonical_key(part) for part in text.split("+") if part)
