"""Typed actions, the Kimi-VL reply parser and the coordinate chain."""

from actions.coords import Frame, PointChain, locate, to_screen
from actions.errors import ActionError, CoordinateError, ParseError
from actions.models import (
    Action, Click, Done, Drag, Fail, Hotkey, KeyDown, KeyUp, MouseDown, MouseUp, MoveTo, Point, Press, Scroll,
    Step, TypeText, Wait,
)
from actions.parser import parse_reply

__all__ = [
    "Action", "ActionError", "Click", "CoordinateError", "Done", "Drag", "Fail", "Frame",
    "Hotkey", "KeyDown", "KeyUp", "MouseDown", "MouseUp", "MoveTo", "ParseError", "Point",
    "PointChain", "Press", "Scroll", "Step", "TypeText", "Wait", "locate", "parse_reply",
    "to_screen",
]
