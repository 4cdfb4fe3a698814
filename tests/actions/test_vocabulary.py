"""The vocabulary table is the one list of calls: the parser, the prompt, the code written back
for Kimi-VL and the pyautogui source sent to VMs all agree with it."""

from __future__ import annotations

import ast
import importlib.util
import re
import time
from functools import cache
from pathlib import Path
from typing import get_args

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from actions.errors import ParseError
from actions.executors.remote import to_pyautogui
from actions.models import (
    Action, Click, Done, Drag, Fail, Hotkey, KeyDown, KeyUp, MouseDown, MouseUp, MoveTo, Point, Press, Scroll,
    TypeText, Wait,
)
from actions.parser import BUILDERS, parse_code
from actions.vocabulary import CALLS
from agent.export.code import action_code
from prompts.template import load

KINDS = set(get_args(get_args(Action)[0]))
"""Every model of the typed-action union."""

# One call of each name, with what the table says it yields.
CALLED = {
    "pyautogui.click": "pyautogui.click(0.5, 0.5, clicks=2, button='right')",
    "pyautogui.doubleClick": "pyautogui.doubleClick(x=0.5, y=0.5)",
    "pyautogui.tripleClick": "pyautogui.tripleClick()",
    "pyautogui.rightClick": "pyautogui.rightClick(10, 20)",
    "pyautogui.middleClick": "pyautogui.middleClick(0.1, 0.2)",
    "pyautogui.moveTo": "pyautogui.moveTo(0.1, 0.2, duration=0.5)",
    "pyautogui.dragTo": "pyautogui.dragTo(0.1, 0.2, button='left')",
    "pyautogui.scroll": "pyautogui.scroll(-3, 0.5, 0.5)",
    "pyautogui.vscroll": "pyautogui.vscroll(2)",
    "pyautogui.hscroll": "pyautogui.hscroll(clicks=4)",
    "pyautogui.write": "pyautogui.write('hello')\npyautogui.write(['a', 'b'])",
    "pyautogui.typewrite": "pyautogui.typewrite('hello', interval=0.1)\npyautogui.typewrite(['enter'])",
    "pyautogui.press": "pyautogui.press(['tab', 'enter'], presses=2)",
    "pyautogui.keyDown": "pyautogui.keyDown('shift')",
    "pyautogui.keyUp": "pyautogui.keyUp('shift')",
    "pyautogui.mouseDown": "pyautogui.mouseDown(0.5, 0.5, button='middle')",
    "pyautogui.mouseUp": "pyautogui.mouseUp()",
    "pyautogui.hotkey": "pyautogui.hotkey('ctrl', 's')",
    "time.sleep": "time.sleep(0.5)",
    "computer.wait": "computer.wait()",
    "computer.terminate": "computer.terminate(status='success', answer='x')\ncomputer.terminate('failure')",
    "DONE": "DONE",
    "FAIL": "FAIL",
    "WAIT": "WAIT",
}


def test_the_parser_has_one_builder_per_table_name() -> None:
    assert set(BUILDERS) == set(CALLS)


def test_each_call_yields_the_kinds_the_table_says() -> None:
    assert set(CALLED) == set(CALLS)
    for name, code in CALLED.items():
        kinds = {type(action) for action in parse_code(code)}
        assert kinds == set(CALLS[name].produces), name


def test_every_action_kind_can_be_written_by_the_model() -> None:
    assert {kind for call in CALLS.values() for kind in call.produces} == KINDS


def test_the_prompt_names_exactly_the_taught_calls() -> None:
    # The prompt is prose for the model, not rendered from the table; this keeps the two in step.
    prose = load("actions")
    named = set(re.findall(r"\b(?:pyautogui|time|computer)\.\w+", prose))
    assert named == {name for name, call in CALLS.items() if call.taught}
    assert not any(re.search(rf"\b{name}\b", prose) for name, call in CALLS.items() if call.bare)


def test_bare_names_cannot_be_called() -> None:
    with pytest.raises(ParseError, match="DONE is not an allowed action"):
        parse_code("DONE()")


def fraction() -> st.SearchStrategy[float]:
    # on the 4-decimal grid the export writes, so the text reads back to the same float
    return st.integers(0, 10_000).map(lambda n: n / 10_000)


def points(space: str) -> st.SearchStrategy[Point]:
    coordinate = fraction() if space == "relative" else st.integers(0, 4000).map(float)
    return st.builds(Point, x=coordinate, y=coordinate, space=st.just(space))


def actions(space: str) -> st.SearchStrategy[Action]:
    """Any typed action, its points in `space`; one strategy per kind of the union."""
    at = st.none() | points(space)
    button = st.sampled_from(["left", "right", "middle"])
    key_names = st.sampled_from(["enter", "a", "ctrl", "shift", "f5", "tab", "<"])
    keys = st.lists(key_names, min_size=1, max_size=3).map(tuple)
    text = st.text(max_size=40)
    by_kind = {
        Click: st.builds(Click, at=at, button=button, clicks=st.sampled_from([1, 2, 3])),
        MoveTo: st.builds(MoveTo, at=points(space)),
        Drag: st.builds(Drag, to=points(space), button=button),
        Scroll: st.builds(Scroll, dx=st.integers(-50, 50), dy=st.integers(-50, 50), at=at),
        TypeText: st.builds(TypeText, text=text),
        Press: st.builds(Press, keys=keys, presses=st.integers(1, 5)),
        Hotkey: st.builds(Hotkey, keys=keys),
        KeyDown: st.builds(KeyDown, key=st.sampled_from(["shift", "ctrl", "a"])),
        KeyUp: st.builds(KeyUp, key=st.sampled_from(["shift", "ctrl", "a"])),
        MouseDown: st.builds(MouseDown, at=at, button=button),
        MouseUp: st.builds(MouseUp, at=at, button=button),
        Wait: st.builds(Wait, seconds=st.integers(0, 240).map(lambda n: n / 4)),
        Done: st.builds(Done, answer=st.none() | text),
        Fail: st.builds(Fail, reason=st.none() | text),
    }
    assert set(by_kind) == KINDS, "a new action kind needs a strategy here"
    return st.one_of(*by_kind.values())


def calls_in(code: str) -> list[ast.Call]:
    return [node for node in ast.walk(ast.parse(code)) if isinstance(node, ast.Call)]


@given(actions("relative"))
def test_export_writes_only_taught_calls_and_reads_back(action: Action) -> None:
    point = getattr(action, "at", None) or getattr(action, "to", None)
    code = "\n".join(action_code(action, (point.x, point.y) if point else None))
    names = {ast.unparse(call.func) for call in calls_in(code)}
    assert names and all(name in CALLS and CALLS[name].taught for name in names), code
    # a two-axis scroll is written as one call per axis (pyautogui scrolls one axis per call)
    assume(not (isinstance(action, Scroll) and action.dx and action.dy))
    assert parse_code(code) == [action]


@cache
def pyautogui_functions() -> dict[str, ast.FunctionDef]:
    """pyautogui's public functions read from its source: importing it needs an X display."""
    spec = importlib.util.find_spec("pyautogui")
    assert spec is not None and spec.origin is not None
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    return {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}


@given(actions("screen"))
def test_vm_code_calls_only_real_pyautogui_functions(action: Action) -> None:
    for call in calls_in(to_pyautogui(action)):
        module, name = ast.unparse(call.func).split(".")
        if module == "time":
            assert callable(getattr(time, name))
            continue
        assert module == "pyautogui"
        function = pyautogui_functions()[name]
        if function.args.kwarg is None:
            accepted = {a.arg for a in function.args.args + function.args.kwonlyargs}
            assert {k.arg for k in call.keywords} <= accepted, ast.unparse(call)
            assert len(call.args) <= len(function.args.args), ast.unparse(call)
