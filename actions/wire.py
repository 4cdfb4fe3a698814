"""The flat JSON shape of actions printed by `kimi-agent parse`: integer pixels of the screenshot."""

from __future__ import annotations

from typing import Any

from actions.coords import Frame, image_pixel, point_of
from actions.models import Action, Step


def action_to_wire(action: Action, frame: Frame) -> dict[str, Any]:
    """`{"type": …, "x": …, "y": …, …}` with the point resolved to pixels of `frame`'s image."""
    fields = action.model_dump(mode="json", exclude={"at", "to"})
    if "keys" in fields:
        fields["keys"] = list(fields["keys"])
    if action.type in ("click", "move", "drag", "scroll", "mouse_down", "mouse_up"):
        point = point_of(action)
        fields["x"], fields["y"] = image_pixel(point, frame) if point is not None else (None, None)
    return fields


def step_to_wire(step: Step, frame: Frame) -> dict[str, Any]:
    """The whole step as the `parse` command prints it."""
    return {
        "thought": step.thought,
        "intent": step.intent,
        "actions": [action_to_wire(a, frame) for a in step.actions],
    }
