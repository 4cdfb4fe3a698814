"""What to draw on a step's frame for its actions, in pixels of the image the model saw.

The same marks feed the HTML page (SVG over the frame) and the GIF/MP4 export (burnt in
with Pillow), so both show the same thing. A drag starts where the pointer was, so the
pointer is followed from step to step in screen coordinates (frames may differ in size).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from typing import Literal

from actions.coords import Frame, PointChain, point_of, to_image_pixels
from actions.errors import CoordinateError
from actions.models import (
    Action, Click, Done, Drag, Fail, Hotkey, KeyDown, KeyUp, MouseDown, MouseUp, MoveTo, Point, Press, Scroll,
    TypeText, Wait,
)
from agent.trajectory.store import StepRecord

MarkKind = Literal["click", "move", "button", "drag", "scroll", "keys", "end"]
Corner = Literal["bottom-left", "bottom-right", "top-left", "top-right"]
TagSide = Literal["right", "left", "below"]
CAPTION_AREA = (0.5, 0.12)
"""Share of the frame's width, and of its height per caption, that captions in a corner cover."""
COLOURS: dict[MarkKind, str] = {
    "click": "#e5484d", "move": "#8b8d98", "button": "#f76b15", "drag": "#0090ff",
    "scroll": "#30a46c", "keys": "#8e4ec6", "end": "#d6409f",
}
"""Colour of each kind of mark, shared by the page and the videos."""
BADGE_DIRECTIONS = ((1, -1), (-1, -1), (1, 1), (-1, 1))
"""Where a marker's number sits, by slot: top-right, top-left, bottom-right, bottom-left."""
TAG_STEP = 1.8
"""Vertical distance between stacked tags of marks at one spot, in marker radii."""
SCROLL_ARROW = 0.12
"""Length of a scroll arrow, as a fraction of the frame's shorter side."""
CAPTION_TEXT = 60
"""Typed text longer than this is cut in captions."""


@dataclass(frozen=True)
class Mark:
    """One action drawn on a frame: a marker at `at`, an arrow `at` → `to`, or a caption."""

    number: int
    """1-based position of the action in its step (shown in the marker)."""
    kind: MarkKind
    label: str
    at: tuple[float, float] | None = None
    to: tuple[float, float] | None = None
    slot: int = 0
    """How many earlier marks of the step sit at the same spot (their badges and tags make way)."""
    tag_side: TagSide = "right"
    """Where the tag goes: right unless it would cover another mark or leave the frame there."""

    @property
    def is_arrow(self) -> bool:
        return self.at is not None and self.to is not None

    @property
    def is_caption(self) -> bool:
        return self.at is None

    @property
    def tag(self) -> str:
        """Text shown beside a marker or arrow; empty for a plain left click, the commonest mark."""
        return "" if self.is_caption or self.label == "click" else self.label


ScreenPoint = tuple[int, int]


def marker_radius(width: int, height: int) -> float:
    """Radius of a point marker on a frame of this size, in its pixels."""
    return max(10.0, 0.02 * min(width, height))


@dataclass(frozen=True)
class ArrowShape:
    """An arrow's shaft (from `start` to `neck`) and its triangular head, in image pixels."""

    start: tuple[float, float]
    neck: tuple[float, float]
    head: tuple[tuple[float, float], tuple[float, float], tuple[float, float]]


def arrow_shape(mark: Mark, radius: float) -> ArrowShape:
    """The geometry of an arrow mark; the shaft stops inside the head so it never pokes out."""
    if mark.at is None or mark.to is None:
        raise ValueError("only a mark with both ends is an arrow")
    (x0, y0), (x1, y1) = mark.at, mark.to
    angle = math.atan2(y1 - y0, x1 - x0)
    size = radius * 1.3
    neck = (x1 - size * 0.8 * math.cos(angle), y1 - size * 0.8 * math.sin(angle))
    left = (x1 - size * math.cos(angle - 0.45), y1 - size * math.sin(angle - 0.45))
    right = (x1 - size * math.cos(angle + 0.45), y1 - size * math.sin(angle + 0.45))
    return ArrowShape(start=(x0, y0), neck=neck, head=((x1, y1), left, right))


def step_marks(step: StepRecord, pointer: ScreenPoint | None) -> tuple[list[Mark], ScreenPoint | None]:
    """The marks of `step`'s actions, and where the pointer is after them (screen points)."""
    chains = step.coordinates + [None] * (len(step.actions) - len(step.coordinates))
    marks: list[Mark] = []
    for number, (action, chain) in enumerate(zip(step.actions, chains), 1):
        here = _image_point(action, chain, step.frame)
        start = _screen_to_image(pointer, step.frame)
        marks.append(_mark(number, action, here, start, step.frame))
        if chain is not None:
            pointer = chain.screen
    radius = marker_radius(step.frame.image_width, step.frame.image_height)
    return _with_tag_sides(_slotted(marks, radius), radius, step.frame.image_width), pointer


def caption_corner(marks: list[Mark], width: int, height: int) -> Corner:
    """The first corner, from bottom-left, where the captions would hide no marker or arrow end."""
    count = sum(1 for m in marks if m.is_caption)
    box_w, box_h = CAPTION_AREA[0] * width, min(1.0, CAPTION_AREA[1] * count) * height
    points = [p for m in marks for p in (m.at, m.to) if p is not None]
    corners: tuple[Corner, ...] = ("bottom-left", "bottom-right", "top-left", "top-right")
    for corner in corners:
        left = 0.0 if corner.endswith("left") else width - box_w
        top = height - box_h if corner.startswith("bottom") else 0.0
        if not any(left <= x <= left + box_w and top <= y <= top + box_h for x, y in points):
            return corner
    return corners[0]


def badge_offset(mark: Mark) -> tuple[int, int]:
    """Unit direction from the marker's centre to its number badge."""
    return BADGE_DIRECTIONS[mark.slot % len(BADGE_DIRECTIONS)]


def _slotted(marks: list[Mark], radius: float) -> list[Mark]:
    out: list[Mark] = []
    for mark in marks:
        if mark.at is not None:
            near = [m for m in out if m.at is not None and math.dist(m.at, mark.at) < 2 * radius]
            mark = replace(mark, slot=len(near))
        out.append(mark)
    return out


def _with_tag_sides(marks: list[Mark], radius: float, width: int) -> list[Mark]:
    points = [p for m in marks for p in (m.at, m.to) if p is not None]

    def free(left: float, right: float, y: float) -> bool:
        inside = 0 <= left and right <= width
        return inside and not any(left < px < right and abs(py - y) < 2 * radius for px, py in points)

    out: list[Mark] = []
    for mark in marks:
        x, y = mark.to or mark.at or (0.0, 0.0)
        # the tag's font is about 1.1 radii high; an average glyph is ~0.6 of that wide
        size = 0.66 * radius * len(mark.label) + 12
        side: TagSide = "right"
        if mark.tag and not free(x + radius, x + 2 * radius + size, y):
            side = "left" if free(x - 2 * radius - size, x - radius, y) else "below"
        out.append(replace(mark, tag_side=side))
    return out


def episode_marks(steps: list[StepRecord]) -> list[list[Mark]]:
    """Marks of every step in order, following the pointer across steps."""
    pointer: ScreenPoint | None = None
    out: list[list[Mark]] = []
    for step in steps:
        marks, pointer = step_marks(step, pointer)
        out.append(marks)
    return out


def _mark(
    number: int, action: Action, here: tuple[float, float] | None, start: tuple[float, float] | None, frame: Frame
) -> Mark:
    match action:
        case Click(clicks=n, button=b):
            name = {1: "click", 2: "double-click", 3: "triple-click"}[n]
            return Mark(number, "click", name if b == "left" else f"{b} {name}", at=here or start)
        case MoveTo():
            return Mark(number, "move", "move", at=here)
        case MouseDown(button=b) | MouseUp(button=b):
            verb = "press" if isinstance(action, MouseDown) else "release"
            return Mark(number, "button", f"{verb} {b}", at=here or start)
        case Drag(button=b):
            label = "drag" if b == "left" else f"{b} drag"
            return Mark(number, "drag", label, at=start, to=here) if start else Mark(number, "drag", label, at=here)
        case Scroll(dx=dx, dy=dy):
            return _scroll(number, dx, dy, here or start or (frame.image_width / 2, frame.image_height / 2), frame)
        case TypeText(text=t):
            shown = t if len(t) <= CAPTION_TEXT else t[:CAPTION_TEXT] + "…"
            return Mark(number, "keys", f"type {json.dumps(shown, ensure_ascii=False)}")
        case Press(keys=k, presses=n):
            return Mark(number, "keys", f"press {' '.join(k)}" + (f" ×{n}" if n > 1 else ""))
        case Hotkey(keys=k):
            return Mark(number, "keys", "+".join(k))
        case KeyDown(key=k) | KeyUp(key=k):
            return Mark(number, "keys", f"{'hold' if isinstance(action, KeyDown) else 'release'} {k}")
        case Wait(seconds=s):
            return Mark(number, "end", f"wait {s:g} s")
        case Done(answer=a):
            return Mark(number, "end", f"done: {a}" if a else "done")
        case Fail(reason=r):
            return Mark(number, "end", f"fail: {r}" if r else "fail")
    raise TypeError(f"no overlay for action type {action.type!r}")


def _scroll(number: int, dx: int, dy: int, at: tuple[float, float], frame: Frame) -> Mark:
    length = SCROLL_ARROW * min(frame.image_width, frame.image_height)
    norm = math.hypot(dx, dy) or 1.0
    # positive dy scrolls up, positive dx right (pyautogui); image y grows downwards
    to = (at[0] + length * dx / norm, at[1] - length * dy / norm)
    parts = [f"{'up' if dy > 0 else 'down'} {abs(dy)}"] if dy else []
    parts += [f"{'right' if dx > 0 else 'left'} {abs(dx)}"] if dx else []
    return Mark(number, "scroll", "scroll " + (", ".join(parts) or "0"), at=at, to=to if dx or dy else None)


def _image_point(action: Action, chain: PointChain | None, frame: Frame) -> tuple[float, float] | None:
    if chain is not None:
        return chain.image
    point = point_of(action)
    if point is None:
        return None
    try:
        return to_image_pixels(point, frame)
    except CoordinateError:
        return None


def _screen_to_image(pointer: ScreenPoint | None, frame: Frame) -> tuple[float, float] | None:
    if pointer is None:
        return None
    try:
        return to_image_pixels(Point(x=pointer[0], y=pointer[1], space="screen"), frame)
    except CoordinateError:
        return None
