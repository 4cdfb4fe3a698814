"""Model output is untrusted: on any Python-looking source the parser returns actions from its
fixed table or raises ParseError. It never raises anything else (no RecursionError or
MemoryError escapes on deep nesting or giant literals), never runs what it reads (checked with
an audit hook), and every point it accepts is finite and within the parser's number range."""

from __future__ import annotations

import math
import os
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actions import ParseError, parse_reply
from actions.models import (
    Click, Done, Drag, Fail, Hotkey, KeyDown, KeyUp, MouseDown, MouseUp, MoveTo, Press, Scroll, TypeText,
    Wait,
)
from actions.parser import MAX_ABS_NUMBER, parse_code
from actions.reply import MAX_CODE_CHARS, MAX_REPLY_CHARS
from actions.vocabulary import CALLS

EXAMPLES = int(os.environ.get("KIMI_PROPERTY_EXAMPLES", "6000")) // 6
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
                    derandomize=os.environ.get("CI") == "true")
TABLE_ACTIONS = (Click, MoveTo, Drag, Scroll, TypeText, Press, Hotkey, KeyDown, KeyUp, MouseDown, MouseUp, Wait, Done, Fail)
DANGEROUS_EVENTS = ("exec", "os.system", "subprocess.Popen", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
                    "open", "os.remove", "shutil", "socket.connect", "import", "ctypes")
_watching: list[list[str]] = []
# the grammar strategy below is deep; hypothesis warns that its repr is long, which is expected
pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")


def _audit(event: str, args: tuple) -> None:
    # CPython looks for the source of a SyntaxError in a file named after the parse's filename,
    # `<unknown>`: that lookup is the interpreter's own and never names a path from the reply.
    if _watching and event.startswith(DANGEROUS_EVENTS) and not (event == "open" and args[0] == "<unknown>"):
        _watching[-1].append(f"{event} {args!r:.80}")


sys.addaudithook(_audit)  # cannot be removed; it records only while `_watching` holds a list


def parsed(code: str) -> list | None:
    """The actions of `code`, or None when refused; fails on any other exception or a side effect."""
    events: list[str] = []
    _watching.append(events)
    try:
        actions = parse_code(code)
    except ParseError as err:
        assert str(err)
        return None
    finally:
        _watching.pop()
        assert events == [], f"parsing had side effects: {events}"
    for action in actions:
        assert isinstance(action, TABLE_ACTIONS)
        for point in (getattr(action, "at", None), getattr(action, "to", None)):
            if point is not None:
                assert math.isfinite(point.x) and math.isfinite(point.y)
                assert abs(point.x) <= MAX_ABS_NUMBER and abs(point.y) <= MAX_ABS_NUMBER
    return actions


atoms = st.one_of(
    st.integers(-(10**30), 10**30).map(str), st.floats().map(repr), st.text(max_size=8).map(repr),
    st.sampled_from(["x", "os", "pyautogui", "__import__", "None", "True", "...", "1j", "b'x'", "f'{x}'", "*a", "**k",
                     "'enter'", "0.5", "-1", "1e999", "DONE", "computer", "time", "__builtins__", "__class__"]),
)
SIDE_EFFECTS = [
    "__import__('os').system('touch /tmp/kimi-parser-ran')", "open('/tmp/kimi-parser-ran', 'w')",
    "exec('import os')", "eval('1')", "pyautogui.click(x=__import__('os').getpid(), y=1)",
    "pyautogui.write(message=open('/etc/passwd').read())", "getattr(pyautogui, 'click')(1, 2)",
    "pyautogui.__class__.__bases__[0].__subclasses__()", "lambda: os.system('id')", "import os",
    "from os import system", "del pyautogui", "pyautogui.click = print", "[x for x in ().__class__.__mro__]",
    "with open('/etc/passwd') as f: pass", "async def f(): await x", "global os", "raise SystemExit",
    "breakpoint()", "pyautogui.click(*[1, 2])", "pyautogui.click(**{'x': 1})", "@dec\ndef f(): pass",
]


def expressions() -> st.SearchStrategy[str]:
    """Random Python expressions built from the grammar's shapes, nested a few levels."""
    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        name = st.sampled_from(sorted(CALLS) + ["os.system", "exec", "f", "pyautogui.click.__globals__", "x.y.z"])
        args = st.lists(inner, max_size=3)
        kwargs = st.lists(st.tuples(st.sampled_from(["x", "y", "button", "message", "keys", "clicks", "z"]), inner), max_size=2)
        return st.one_of(
            st.builds(lambda n, a, k: f"{n}({', '.join(a + [f'{key}={v}' for key, v in k])})", name, args, kwargs),
            st.builds(lambda a, op, b: f"({a} {op} {b})", inner, st.sampled_from(["+", "-", "*", "**", "//", "and", "if 1 else", "@", "<", "|"]), inner),
            st.builds(lambda a: f"[{a}]", inner), st.builds(lambda a, b: f"({a}, {b})", inner, inner),
            st.builds(lambda a, b: f"{{{a}: {b}}}", inner, inner), st.builds(lambda a, b: f"{a}[{b}]", inner, inner),
            st.builds(lambda a, b: f"{a}.{b}", inner, st.sampled_from(["x", "__class__", "click", "system"])),
            st.builds(lambda a: f"-{a}", inner), st.builds(lambda a: f"not {a}", inner),
            st.builds(lambda a: f"lambda: {a}", inner), st.builds(lambda a: f"(yield {a})", inner),
            st.builds(lambda a: f"[_ for _ in {a}]", inner), st.builds(lambda a: f"(x := {a})", inner),
        )
    return st.recursive(atoms, extend, max_leaves=12)


statements = st.one_of(
    expressions(), st.sampled_from(SIDE_EFFECTS),
    st.builds(lambda e: f"x = {e}", expressions()), st.builds(lambda e: f"if {e}:\n    DONE", expressions()),
    st.builds(lambda e: f"for i in {e}:\n    pyautogui.press('a')", expressions()),
)


@SETTINGS
@given(st.lists(statements, min_size=1, max_size=6))
def test_generated_python_source(lines: list[str]) -> None:
    parsed("\n".join(lines))


@SETTINGS
@given(st.lists(st.sampled_from(list("()[]{},.:=+-*/'\"\\ \n\t#@0123456789xyeEjJ_pyautogui") + ["click", "lambda", "\x00", "\u2028", "◁think▷"]),
               max_size=200).map("".join))
def test_python_token_soup(code: str) -> None:
    parsed(code)


@pytest.mark.parametrize("code", SIDE_EFFECTS)
def test_code_that_would_act_if_run_is_refused_and_not_run(code: str) -> None:
    assert parsed(code) is None
    assert not os.path.exists("/tmp/kimi-parser-ran")


DEPTH = MAX_CODE_CHARS // 2 - 20
NESTED = {
    "parentheses": "(" * DEPTH + "1" + ")" * DEPTH,
    "unary minus": "pyautogui.click(" + "-" * (MAX_CODE_CHARS - 40) + "1, 2)",
    "attribute chain": "a" + ".b" * DEPTH + "()",
    "not chain": "not " * (MAX_CODE_CHARS // 4 - 5) + "x",
    "binary chain": "pyautogui.click(" + "1+" * DEPTH + "1, 2)",
    "lists": "pyautogui.click(" + "[" * 150 + "]" * 150 + ")",
    "calls": "f(" * DEPTH + ")" * DEPTH,
    "lambdas": "lambda: " * (MAX_CODE_CHARS // 9) + "1",
    "giant integer": "pyautogui.click(" + "9" * (MAX_CODE_CHARS - 40) + ", 1)",
    "giant float": "pyautogui.click(1" + "0" * 400 + ".0, 1)",
    "giant string": "pyautogui.write('" + "a" * (MAX_CODE_CHARS - 40) + "')",
    "many statements": "DONE\n" * (MAX_CODE_CHARS // 5 - 1),
    "many arguments": "pyautogui.hotkey(" + "'a'," * (MAX_CODE_CHARS // 4 - 10) + ")",
    "NUL byte": "pyautogui.write('\x00')",
    "lone surrogate": "pyautogui.write('\ud800')",
    "over the code limit": "DONE\n" * (MAX_CODE_CHARS // 5 + 1),
}


@pytest.mark.parametrize("name", sorted(NESTED))
def test_limits_are_parse_errors(name: str) -> None:
    code = NESTED[name]
    with pytest.raises(ParseError):
        parse_reply(f"## Action:\nAct.\n## Code:\n```python\n{code}\n```")


def test_limits_are_explicit() -> None:
    with pytest.raises(ParseError, match=f"longer than {MAX_REPLY_CHARS} characters"):
        parse_reply("a" * (MAX_REPLY_CHARS + 1))
    with pytest.raises(ParseError, match=f"longer than {MAX_CODE_CHARS} characters"):
        parse_reply(f"```python\n{'DONE' + chr(10) * 4 * (MAX_CODE_CHARS // 4)}\n```")
    with pytest.raises(ParseError, match="nested too deeply|too many nested|recursion"):
        parse_code(NESTED["unary minus"])
    with pytest.raises(ParseError, match="out of range"):
        parse_code(f"pyautogui.click({MAX_ABS_NUMBER * 10:.0f}, 1)")
