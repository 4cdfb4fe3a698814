"""Property tests: on any input the parser returns a Step or raises ParseError, and every point it
yields resolves onto the screen or is refused. Tens of thousands of generated replies per run."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actions import ActionError, Frame, ParseError, Step, parse_reply
from actions.coords import point_of
from actions.vocabulary import CALLS
from actions.wire import step_to_wire

EXAMPLES = int(os.environ.get("KIMI_PROPERTY_EXAMPLES", "6000"))
# CI explores a fixed sequence of cases so a landing never depends on luck; local runs explore anew.
SETTINGS = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
    derandomize=os.environ.get("CI") == "true",
)

REAL = [
    "◁think▷I will click the icon.◁/think▷## Action:\nClick the icon.\n\n## Code:\n```python\npyautogui.click(x=0.204, y=0.149)\n```",
    "## Thought:\nType it.\n\n## Action:\nType and save.\n\n## Code:\n```code\npyautogui.write('hi')\npyautogui.hotkey('ctrl', 's')\n```",
    "◁think▷Done.◁/think▷## Action:\nFinish.\n## Code:\n```python\ncomputer.terminate(status=\"success\", answer=\"42\")\n```",
    "## Action:\nDrag.\n## Code:\n```\npyautogui.moveTo(100, 200)\npyautogui.dragTo(0.9, 0.8, button='left')\npyautogui.scroll(-3, x=0.5, y=0.5)\n```",
]


def outcome(text: str) -> Step | None:
    try:
        step = parse_reply(text)
    except ParseError:
        return None
    assert isinstance(step, Step)
    return step


def assert_on_screen(step: Step, width: int, height: int) -> None:
    try:
        wire = step_to_wire(step, Frame.of_size(width, height))
    except ActionError:
        return  # refused with a clear error: never clicked
    for action in wire["actions"]:
        if action.get("x") is not None:
            assert 0 <= action["x"] < width and 0 <= action["y"] < height, action


@SETTINGS
@given(st.text(max_size=400))
def test_arbitrary_text(text: str) -> None:
    outcome(text)


@SETTINGS
@given(st.text(alphabet=st.sampled_from(list("pyautogui.click()'\"=,0123456789.-x y\n`#◁▷/think:ActionCode")), max_size=300))
def test_reply_alphabet_soup(text: str) -> None:
    outcome(text)


literal = st.one_of(
    st.integers(-10**6, 10**6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(max_size=12).map(repr),
    st.sampled_from(["True", "None", "'enter'", "'ctrl'", "['a', 'b']", "(0.5, 0.5)", "x", "os.system('id')", "1+2", "-0.5", "1e999", "[[1]]"]),
)
names = st.sampled_from(sorted(CALLS) + ["os.system", "eval", "exec", "pyautogui.os.system", "click", "pyautogui", "__import__", "computer.run", "DONE", "WAIT"])
keywords = st.sampled_from(["x", "y", "button", "clicks", "presses", "interval", "status", "answer", "message", "keys", "key", "seconds", "foo", "duration"])


@st.composite
def calls(draw: st.DrawFn) -> str:
    name = draw(names)
    args = draw(st.lists(literal, max_size=4))
    kwargs = draw(st.lists(st.tuples(keywords, literal), max_size=3))
    inner = ", ".join(args + [f"{k}={v}" for k, v in kwargs])
    return name if name in ("DONE", "WAIT") and draw(st.booleans()) else f"{name}({inner})"


@SETTINGS
@given(st.lists(calls(), min_size=1, max_size=5), st.booleans(), st.integers(50, 4000), st.integers(50, 4000))
def test_generated_code(lines: list[str], thinking: bool, width: int, height: int) -> None:
    body = "\n".join(lines)
    prefix = "◁think▷reasoning◁/think▷" if thinking else "## Thought:\nreasoning\n"
    step = outcome(f"{prefix}## Action:\nAct.\n## Code:\n```python\n{body}\n```")
    if step is not None:
        assert_on_screen(step, width, height)
        assert all(point_of(a) is None or point_of(a).space in ("relative", "image") for a in step.actions)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(REAL))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["delete", "insert", "duplicate", "crlf", "drop_marker"]))
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 30)))
        if kind == "delete":
            text = text[:i] + text[j:]
        elif kind == "insert":
            text = text[:i] + draw(st.text(max_size=10)) + text[i:]
        elif kind == "duplicate":
            text = text[:j] + text[i:j] + text[j:]
        elif kind == "crlf":
            text = text.replace("\n", "\r\n")
        else:
            text = text.replace(draw(st.sampled_from(["◁think▷", "◁/think▷", "```", "## Code:", "## Action:"])), "", 1)
    return text


@SETTINGS
@given(mutated(), st.integers(50, 4000), st.integers(50, 4000))
def test_mutated_real_replies(text: str, width: int, height: int) -> None:
    step = outcome(text)
    if step is not None:
        assert_on_screen(step, width, height)


@SETTINGS
@given(st.floats(allow_nan=True, allow_infinity=True), st.floats(allow_nan=True, allow_infinity=True),
       st.integers(1, 5000), st.integers(1, 5000))
def test_any_coordinates_land_on_screen_or_are_refused(x: float, y: float, width: int, height: int) -> None:
    step = outcome(f"```python\npyautogui.click({x!r}, {y!r})\n```")
    if step is not None:
        assert_on_screen(step, width, height)
