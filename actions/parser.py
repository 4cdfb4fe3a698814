"""Kimi-VL reply → `Step`. Code is read with `ast` and mapped through the vocabulary table.

Nothing in a reply is ever executed: each statement must be a call of a name in
`actions.vocabulary.CALLS` whose arguments are literals; anything else is a `ParseError`
whose message can be fed back to the model.
"""

from __future__ import annotations

import ast
import math
import warnings
from dataclasses import dataclass
from typing import Callable, Union

from pydantic import ValidationError

from actions.errors import ParseError, first_error
from actions.models import (
    Action, Click, Done, Drag, Fail, Hotkey, KeyDown, KeyUp, MouseDown, MouseUp, MoveTo, Point, Press, Scroll,
    Step, TypeText, Wait,
)
from actions.reply import ReplyParts, split_reply
from actions.vocabulary import CALLS, DEFAULT_WAIT_SECONDS, IGNORED_KEYWORDS, VARIADIC_KEYS

Literal_ = Union[int, float, str, bool, None, tuple]
MAX_ABS_NUMBER = 1e7
RELATIVE_LIMIT = 1.01
"""Both coordinates at most this (and not both integers) → a 0..1 fraction of the image."""
_BUTTONS = {"left": "left", "right": "right", "middle": "middle", "primary": "left", "secondary": "right"}


@dataclass(frozen=True)
class Args:
    """Arguments of one call bound to parameter names; absent parameters are missing."""

    call: str
    values: dict[str, Literal_]

    def get(self, name: str, default: Literal_ = None) -> Literal_:
        return self.values.get(name, default)

    def number(self, name: str, default: float | None = None) -> float | None:
        value = self.values.get(name, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParseError(f"{self.call}: {name} must be a number, got {value!r}")
        return value

    def text(self, name: str) -> str:
        value = self.values.get(name)
        if not isinstance(value, str):
            raise ParseError(f"{self.call}: {name} must be a string, got {value!r}")
        return value

    def point(self, required: bool = False) -> Point | None:
        """The (x, y) target; a pair given as the first argument is accepted too."""
        x, y = self.values.get("x"), self.values.get("y")
        if isinstance(x, tuple) and y is None:
            if len(x) != 2:
                raise ParseError(f"{self.call}: a point needs exactly two numbers, got {x!r}")
            x, y = x
        if x is None and y is None:
            if required:
                raise ParseError(f"{self.call} needs x and y coordinates")
            return None
        if x is None or y is None:
            raise ParseError(f"{self.call}: give both x and y, not only one")
        for axis, value in (("x", x), ("y", y)):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ParseError(f"{self.call}: {axis} must be a number, got {value!r}")
        relative = max(x, y) <= RELATIVE_LIMIT and not (isinstance(x, int) and isinstance(y, int))
        return Point(x=x, y=y, space="relative" if relative else "image")

    def button(self, default: str = "left") -> str:
        value = self.values.get("button", default)
        if not isinstance(value, str) or value.lower() not in _BUTTONS:
            raise ParseError(f"{self.call}: button must be 'left', 'right' or 'middle', got {value!r}")
        return _BUTTONS[value.lower()]

    def keys(self, name: str) -> tuple[str, ...]:
        value = self.values.get(name)
        keys = value if isinstance(value, tuple) else (value,)
        if not keys or not all(isinstance(k, str) for k in keys):
            raise ParseError(f"{self.call}: {name} must be a key name or a list of key names")
        return keys

    def whole(self, name: str, default: int) -> int:
        value = self.number(name, default)
        if value is None or value != int(value):
            raise ParseError(f"{self.call}: {name} must be a whole number, got {value!r}")
        return int(value)


def _click(clicks: int | None, button: str | None = None) -> Callable[[Args], list[Action]]:
    def build(a: Args) -> list[Action]:
        return [Click(at=a.point(), button=button or a.button(), clicks=clicks or a.whole("clicks", 1))]
    return build


def _write(a: Args) -> list[Action]:
    message = a.get("message")
    if isinstance(message, tuple):
        return [Press(keys=a.keys("message"))]
    return [TypeText(text=a.text("message"))]


def _scroll(axis: str) -> Callable[[Args], list[Action]]:
    def build(a: Args) -> list[Action]:
        amount = a.whole("clicks", 0) if "clicks" in a.values else None
        if amount is None:
            raise ParseError(f"{a.call} needs the number of clicks to scroll")
        return [Scroll(**{axis: amount}, at=a.point())]
    return build


def _terminate(a: Args) -> list[Action]:
    status = a.get("status", "success")
    answer = a.get("answer")
    if answer is not None and not isinstance(answer, str):
        answer = str(answer) if isinstance(answer, (int, float)) else a.text("answer")
    if status == "success":
        return [Done(answer=answer)]
    if status in ("failure", "fail", "failed"):
        return [Fail(reason=answer)]
    raise ParseError(f"computer.terminate: status must be 'success' or 'failure', got {status!r}")


def _sleep(a: Args) -> list[Action]:
    return [Wait(seconds=a.number("seconds", DEFAULT_WAIT_SECONDS))]


Builder = Callable[[Args], list[Action]]
# One builder per name of the vocabulary table (a test checks they match); the table says
# which names are accepted and how their arguments bind.
BUILDERS: dict[str, Builder] = {
    "pyautogui.click": _click(None),
    "pyautogui.doubleClick": _click(2),
    "pyautogui.tripleClick": _click(3),
    "pyautogui.rightClick": _click(1, "right"),
    "pyautogui.middleClick": _click(1, "middle"),
    "pyautogui.moveTo": lambda a: [MoveTo(at=a.point(required=True))],
    "pyautogui.dragTo": lambda a: [Drag(to=a.point(required=True), button=a.button())],
    "pyautogui.scroll": _scroll("dy"),
    "pyautogui.vscroll": _scroll("dy"),
    "pyautogui.hscroll": _scroll("dx"),
    "pyautogui.write": _write,
    "pyautogui.typewrite": _write,
    "pyautogui.press": lambda a: [Press(keys=a.keys("keys"), presses=a.whole("presses", 1))],
    "pyautogui.keyDown": lambda a: [KeyDown(key=a.text("key"))],
    "pyautogui.keyUp": lambda a: [KeyUp(key=a.text("key"))],
    "pyautogui.mouseDown": lambda a: [MouseDown(at=a.point(), button=a.button())],
    "pyautogui.mouseUp": lambda a: [MouseUp(at=a.point(), button=a.button())],
    "pyautogui.hotkey": lambda a: [Hotkey(keys=a.keys("keys"))],
    "time.sleep": _sleep,
    "computer.wait": _sleep,
    "computer.terminate": _terminate,
    "DONE": lambda a: [Done()],
    "FAIL": lambda a: [Fail()],
    "WAIT": _sleep,
}
_ALLOWED = ", ".join(sorted(name for name, call in CALLS.items() if not call.bare))


def parse_reply(text: str) -> Step:
    """Parse a Kimi-VL reply into a `Step`, or raise `ParseError` saying what is wrong."""
    return parse_parts(split_reply(text))


def parse_parts(parts: ReplyParts) -> Step:
    """The `Step` of a reply already split (its code read through the vocabulary table)."""
    actions = parse_code(parts.code)
    try:
        return Step(thought=parts.thought, intent=parts.intent, actions=tuple(actions))
    except ValidationError as err:
        raise ParseError(first_error(err)) from None


def parse_code(code: str) -> list[Action]:
    """Map each statement of `code` to actions through the vocabulary table."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarnings about the model's escapes are not ours to print
            tree = ast.parse(code.strip("\n"), mode="exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError) as err:
        # CPython refuses over-deep nesting with a RecursionError or a bare MemoryError (no message)
        reason = getattr(err, "msg", None) or str(err) or "it is nested too deeply"
        raise ParseError(f"the code block is not valid Python: {reason}") from None
    actions: list[Action] = []
    for statement in tree.body:
        actions.extend(_statement(statement))
    if not actions:
        raise ParseError("the code block holds no action")
    return actions


def _statement(node: ast.stmt) -> list[Action]:
    where = f"line {node.lineno}"
    if not isinstance(node, ast.Expr):
        raise ParseError(f"{where}: only calls such as pyautogui.click(x=0.5, y=0.5) are allowed, not {_kind(node)}")
    value = node.value
    if isinstance(value, ast.Name) and value.id in CALLS and CALLS[value.id].bare:
        return _build(value.id, Args(call=value.id, values={}), where)
    if not isinstance(value, ast.Call):
        raise ParseError(f"{where}: only calls such as pyautogui.click(x=0.5, y=0.5) are allowed, not {_kind(value)}")
    name = _dotted(value.func)
    call = CALLS.get(name) if name is not None else None
    if call is None or call.bare:
        raise ParseError(f"{where}: {name or 'this call'} is not an allowed action; allowed: {_ALLOWED}")
    return _build(name, Args(call=name, values=_bind(name, call.params, value, where)), where)


def _build(name: str, args: Args, where: str) -> list[Action]:
    try:
        return BUILDERS[name](args)
    except ValidationError as err:
        raise ParseError(f"{where}: {name}: {first_error(err)}") from None
    except ParseError as err:
        raise ParseError(f"{where}: {err}") from None


def _bind(name: str, params: tuple[str, ...], call: ast.Call, where: str) -> dict[str, Literal_]:
    values: dict[str, Literal_] = {}
    positional = [_literal(arg, where) for arg in call.args]
    if params == (VARIADIC_KEYS,):
        values["keys"] = tuple(k for arg in positional for k in (arg if isinstance(arg, tuple) else (arg,)))
        params = ()
    elif len(positional) > len(params):
        raise ParseError(f"{where}: {name} takes at most {len(params)} positional arguments")
    values.update(zip(params, positional))
    for keyword in call.keywords:
        if keyword.arg is None:
            raise ParseError(f"{where}: ** arguments are not allowed")
        if keyword.arg not in params and keyword.arg not in IGNORED_KEYWORDS:
            raise ParseError(f"{where}: {name} has no argument {keyword.arg!r}")
        if keyword.arg in values:
            raise ParseError(f"{where}: {name} got {keyword.arg!r} twice")
        values[keyword.arg] = _literal(keyword.value, where)
    return values


def _literal(node: ast.expr, where: str) -> Literal_:
    """A constant, a signed number, or a flat list/tuple of constants; nothing else."""
    if isinstance(node, ast.Constant) and (node.value is None or isinstance(node.value, (int, float, str, bool))):
        value = node.value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            _check_number(value, where)
        return value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)) and isinstance(node.operand, ast.Constant):
        operand = node.operand.value
        if isinstance(operand, (int, float)) and not isinstance(operand, bool):
            _check_number(operand, where)
            return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, (ast.Tuple, ast.List)):
        items = tuple(_literal(item, where) for item in node.elts)
        if any(isinstance(item, tuple) for item in items):
            raise ParseError(f"{where}: nested lists are not allowed in arguments")
        return items
    if isinstance(node, ast.Call):
        raise ParseError(f"{where}: calls inside arguments are not allowed; write literal values")
    raise ParseError(f"{where}: arguments must be literal numbers or strings, not {_kind(node)}")


def _check_number(value: int | float, where: str) -> None:
    if isinstance(value, float) and not math.isfinite(value) or abs(value) > MAX_ABS_NUMBER:
        raise ParseError(f"{where}: the number {value!r} is out of range")


def _dotted(func: ast.expr) -> str | None:
    """'module.function' for a call of that exact shape, else None."""
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        return f"{func.value.id}.{func.attr}"
    if isinstance(func, ast.Name):
        return func.id
    return None


def _kind(node: ast.AST) -> str:
    return {
        ast.Import: "an import", ast.ImportFrom: "an import", ast.Assign: "an assignment",
        ast.FunctionDef: "a function definition", ast.Name: "a variable",
    }.get(type(node), f"a {type(node).__name__} expression")

