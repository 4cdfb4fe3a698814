"""Typed actions back to the Kimi-VL reply the agent asks for, with relative coordinates.

The code is generated from the typed actions (never copied from model text), with calls of
the vocabulary table (`actions.vocabulary`; a test checks every name written here), so
parsing an exported reply gives the recorded actions back. Points are written as fractions
0..1 of the image the model saw, the space the prompt asks for, whatever space the model
originally answered in.
"""

from __future__ import annotations

import json

from actions.coords import Frame, PointChain, point_of, to_image_pixels
from actions.models import (
    Action, Click, Done, Drag, Fail, Hotkey, KeyDown, KeyUp, MouseDown, MouseUp, MoveTo, Press, Scroll,
    TypeText, Wait,
)
from actions.reply import THINK_MARKERS, compose_reply
from actions.vocabulary import DEFAULT_WAIT_SECONDS
from agent.backends.checkpoints import ReplyLayout
from prompts import Variant

DECIMALS = 4
"""Digits of a relative coordinate: 1e-4 of a 3.2 MP image's side is under half a pixel."""


def relative_point(action: Action, chain: PointChain | None, frame: Frame) -> tuple[float, float] | None:
    """The action's point as (x, y) fractions of the image the model saw, or None without one."""
    point = point_of(action)
    if point is None:
        return None
    ix, iy = chain.image if chain is not None else to_image_pixels(point, frame)
    return ix / frame.image_width, iy / frame.image_height


def action_code(action: Action, where: tuple[float, float] | None) -> list[str]:
    """The statements that perform `action`, with its point at relative `where`."""
    xy = f"x={_number(where[0])}, y={_number(where[1])}" if where else ""
    match action:
        case Click(clicks=n, button=b):
            if b != "left" and n == 1:
                return [f"pyautogui.{b}Click({xy})"]
            name = {1: "click", 2: "doubleClick", 3: "tripleClick"}[n]
            return [f"pyautogui.{name}({_args(xy, _button(b))})"]
        case MoveTo():
            return [f"pyautogui.moveTo({xy})"]
        case Drag(button=b):
            return [f"pyautogui.dragTo({_args(xy, _button(b))})"]
        case MouseDown(button=b) | MouseUp(button=b):
            name = "mouseDown" if isinstance(action, MouseDown) else "mouseUp"
            return [f"pyautogui.{name}({_args(xy, _button(b))})"]
        case Scroll(dx=dx, dy=dy):
            # pyautogui scrolls one axis per call; a recorded two-axis scroll becomes two calls
            calls = [("scroll", dy)] if dy or not dx else []
            calls += [("hscroll", dx)] if dx else []
            return [f"pyautogui.{name}({_args(str(amount), xy)})" for name, amount in calls]
        case TypeText(text=t):
            return [f"pyautogui.write({_string(t)})"]
        case Press(keys=k, presses=n):
            keys = _string(k[0]) if len(k) == 1 else "[" + ", ".join(_string(key) for key in k) + "]"
            return [f"pyautogui.press({_args(keys, f'presses={n}' if n > 1 else '')})"]
        case Hotkey(keys=k):
            return [f"pyautogui.hotkey({', '.join(_string(key) for key in k)})"]
        case KeyDown(key=k) | KeyUp(key=k):
            return [f"pyautogui.{'keyDown' if isinstance(action, KeyDown) else 'keyUp'}({_string(k)})"]
        case Wait(seconds=s):
            return ["computer.wait()" if s == DEFAULT_WAIT_SECONDS else f"time.sleep({_number(s)})"]
        case Done(answer=a):
            return [_terminate("success", a)]
        case Fail(reason=r):
            return [_terminate("failure", r)]
    raise TypeError(f"no code for action type {action.type!r}")


def steps_code(actions: list[Action], chains: list[PointChain | None], frame: Frame) -> str:
    """The code block's body for a step's actions."""
    chains = chains + [None] * (len(actions) - len(chains))
    return "\n".join(
        line for action, chain in zip(actions, chains)
        for line in action_code(action, relative_point(action, chain, frame))
    )


VARIANT_LAYOUTS: dict[Variant, ReplyLayout] = {"thinking": "think-markers", "instruct": "thought-section"}
"""Kimi-VL's layout for each prompt variant (a checkpoint may write its thought otherwise)."""


def reply_text(layout: Variant | ReplyLayout, thought: str, intent: str, code: str) -> str:
    """A reply in `layout` (or the Kimi-VL layout of a prompt variant): the thought, `## Action:`, `## Code:`.

    `think-tags` writes the thought between `<think>` tags, as the Kimi-K2 chat template
    renders an assistant turn whose thinking the server returned as `reasoning_content`.
    """
    layout = VARIANT_LAYOUTS[layout] if layout in VARIANT_LAYOUTS else layout
    if layout == "think-tags":
        opening, closing = THINK_MARKERS[1]
        return f"{opening}{thought}{closing}{compose_reply(None, intent, code)}"
    return compose_reply(thought, intent, code, thinking_markers=layout == "think-markers")


def _terminate(status: str, answer: str | None) -> str:
    extra = f"answer={_string(answer)}" if answer is not None else ""
    return f"computer.terminate({_args(f'status={_string(status)}', extra)})"


def _number(value: float) -> str:
    """A float literal that always has a decimal point, so the parser reads a fraction, not pixels."""
    text = f"{round(value, DECIMALS):.{DECIMALS}f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def _string(value: str) -> str:
    # JSON string syntax with ensure_ascii=False is also a valid Python string literal
    return json.dumps(value, ensure_ascii=False)


def _button(button: str) -> str:
    return "" if button == "left" else f"button={_string(button)}"


def _args(*parts: str) -> str:
    return ", ".join(p for p in parts if p)

