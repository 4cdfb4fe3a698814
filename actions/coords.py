"""The coordinate chain: model space → image pixels → screenshot pixels → logical points → screen.

The model sees an image (possibly resized from the screenshot) and answers in its space:
a 0..1 fraction of that image (`relative`) or pixels of it (`image`). The screenshot is in
physical pixels; the OS clicks in logical points (physical / scale factor) offset by the
monitor's origin. Every link is kept in a `PointChain` so a trajectory can show each one.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field, model_validator

from actions.errors import CoordinateError
from actions.models import Action, Drag, Point

EDGE_TOLERANCE = 0.01
"""Points within this fraction of a side beyond the edge are clamped; farther is an error."""
EDGE_TOLERANCE_PX = 2


class Frame(BaseModel):
    """How the image the model saw relates to the screen it was captured from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    image_width: int = Field(gt=0)
    image_height: int = Field(gt=0)
    physical_width: int = Field(gt=0)
    physical_height: int = Field(gt=0)
    scale: float = Field(1.0, gt=0, le=8, allow_inf_nan=False)
    offset_x: int = 0
    offset_y: int = 0

    @classmethod
    def of_size(cls, width: int, height: int) -> Frame:
        """A frame whose image is the screenshot itself, at scale 1, at the origin."""
        return cls(image_width=width, image_height=height, physical_width=width, physical_height=height)

    @model_validator(mode="after")
    def _logical_size_positive(self) -> Frame:
        if self.logical_width < 1 or self.logical_height < 1:
            raise ValueError("scale leaves no logical pixels")
        return self

    @property
    def logical_width(self) -> int:
        return int(self.physical_width / self.scale)

    @property
    def logical_height(self) -> int:
        return int(self.physical_height / self.scale)


class PointChain(BaseModel):
    """One point in every space of the chain; integer links are what was actually used."""

    model_config = ConfigDict(frozen=True)

    model: Point
    image: tuple[float, float]
    physical: tuple[int, int]
    logical: tuple[int, int]
    screen: tuple[int, int]


def round_half_up(value: float) -> int:
    """Round to the nearest integer, halves away from zero for non-negative values."""
    return math.floor(value + 0.5)


def _on_axis(value: float, size: int, axis: str, original: float) -> float:
    """Check `value` (pixels along a side of `size`) and clamp it onto the side."""
    if not math.isfinite(value):
        raise CoordinateError(f"{axis}={original:g} is not a finite number")
    slack = max(EDGE_TOLERANCE_PX, EDGE_TOLERANCE * size)
    if value < -slack or value > size + slack:
        raise CoordinateError(
            f"{axis}={original:g} is off the screen (allowed: 0..1 as a fraction of the "
            f"screenshot, or 0..{size - 1} pixels)"
        )
    return min(max(value, 0.0), size - 1.0)


def to_image_pixels(point: Point, frame: Frame) -> tuple[float, float]:
    """Map a model-space point to (clamped) pixels of the image the model saw."""
    w, h = frame.image_width, frame.image_height
    if point.space == "relative":
        x, y = point.x * w, point.y * h
    elif point.space == "image":
        x, y = point.x, point.y
    else:
        x = (point.x - frame.offset_x) * frame.scale * w / frame.physical_width
        y = (point.y - frame.offset_y) * frame.scale * h / frame.physical_height
    return _on_axis(x, w, "x", point.x), _on_axis(y, h, "y", point.y)


def locate(point: Point, frame: Frame) -> PointChain:
    """Follow `point` down the whole chain to global screen points, or raise `CoordinateError`."""
    ix, iy = to_image_pixels(point, frame)
    px = min(round_half_up(ix * frame.physical_width / frame.image_width), frame.physical_width - 1)
    py = min(round_half_up(iy * frame.physical_height / frame.image_height), frame.physical_height - 1)
    lx = min(math.floor(px / frame.scale), frame.logical_width - 1)
    ly = min(math.floor(py / frame.scale), frame.logical_height - 1)
    return PointChain(
        model=point,
        image=(ix, iy),
        physical=(px, py),
        logical=(lx, ly),
        screen=(lx + frame.offset_x, ly + frame.offset_y),
    )


def image_pixel(point: Point, frame: Frame) -> tuple[int, int]:
    """The integer pixel of the model's image that `point` designates."""
    ix, iy = to_image_pixels(point, frame)
    return (
        min(round_half_up(ix), frame.image_width - 1),
        min(round_half_up(iy), frame.image_height - 1),
    )


def point_of(action: Action) -> Point | None:
    """The point an action targets, if any."""
    return getattr(action, "to" if isinstance(action, Drag) else "at", None)


def with_point(action: Action, point: Point) -> Action:
    """A copy of `action` targeting `point` instead."""
    return action.model_copy(update={"to" if isinstance(action, Drag) else "at": point})


def to_screen(action: Action, frame: Frame) -> tuple[Action, PointChain | None]:
    """The action with its point in `screen` space, and the chain that got it there."""
    point = point_of(action)
    if point is None:
        return action, None
    chain = locate(point, frame)
    sx, sy = chain.screen
    return with_point(action, Point(x=sx, y=sy, space="screen")), chain
