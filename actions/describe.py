"""Short human-readable descriptions of typed actions, for the terminal and for confirmations."""

from __future__ import annotations

from actions.coords import PointChain, point_of
from actions.models import Action, Click, Done, Fail, Hotkey, KeyDown, KeyUp, Press, Scroll, TypeText, Wait


def describe_action(action: Action, chain: PointChain | None = None, text_limit: int | None = 40) -> str:
    """e.g. `click(960,540)`, `type 'hello'`, `hotkey ctrl+s`; points in screen pixels when `chain` is given.

    Typed text is cut at `text_limit` characters (None: whole, as when a person must approve it)."""
    point = point_of(action)
    if chain is not None:
        where = f"({chain.screen[0]},{chain.screen[1]})"
    else:
        where = f"({point.x:g},{point.y:g})" if point is not None else ""
    match action:
        case Click(clicks=n, button=b):
            name = {1: "click", 2: "double-click", 3: "triple-click"}[n]
            return f"{'' if b == 'left' else b + '-'}{name}{where}"
        case TypeText(text=t):
            cut = text_limit is not None and len(t) > text_limit
            return f"type {t[:text_limit] if cut else t!r}{'…' if cut else ''}"
        case Press(keys=k, presses=n):
            return f"press {' '.join(k)}" + (f" ×{n}" if n > 1 else "")
        case Hotkey(keys=k):
            return f"hotkey {'+'.join(k)}"
        case KeyDown(key=k) | KeyUp(key=k):
            return f"{action.type.replace('_', ' ')} {k}"
        case Scroll(dx=dx, dy=dy):
            return f"scroll dx={dx} dy={dy}{where}"
        case Wait(seconds=s):
            return f"wait {s:g}s"
        case Done(answer=a):
            return f"done{f' ({a})' if a else ''}"
        case Fail(reason=r):
            return f"fail{f' ({r})' if r else ''}"
    return f"{action.type.replace('_', ' ')}{where}"
