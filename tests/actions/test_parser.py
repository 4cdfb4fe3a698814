"""The reply parser: every construct KIMI_VL.md describes, and refusal of everything else."""

from __future__ import annotations

import pytest

from actions import (
    Click, Done, Drag, Fail, Hotkey, KeyDown, KeyUp, MouseDown, MouseUp, MoveTo, ParseError, Point, Press,
    Scroll, Step, TypeText, Wait, parse_reply,
)


def rel(x: float, y: float) -> Point:
    return Point(x=x, y=y, space="relative")


def px(x: float, y: float) -> Point:
    return Point(x=x, y=y, space="image")


def code(*lines: str, tag: str = "python") -> str:
    return "## Action:\nDo it.\n## Code:\n```" + tag + "\n" + "\n".join(lines) + "\n```"


def actions_of(*lines: str) -> tuple:
    return parse_reply(code(*lines)).actions


THINKING = (
    "◁think▷I see the Files icon at the top left.\nI will open it.◁/think▷## Action:\n"
    "Open the Files app.\n\n## Code:\n```python\npyautogui.click(x=0.204, y=0.149)\n```"
)


def test_thinking_reply() -> None:
    assert parse_reply(THINKING) == Step(
        thought="I see the Files icon at the top left.\nI will open it.",
        intent="Open the Files app.",
        actions=(Click(at=rel(0.204, 0.149)),),
    )


def test_thinking_reply_without_the_opening_marker() -> None:
    step = parse_reply(THINKING.replace("◁think▷", ""))
    assert step.thought.startswith("I see the Files icon")
    assert step.actions == (Click(at=rel(0.204, 0.149)),)


def test_unterminated_thought_is_an_error() -> None:
    with pytest.raises(ParseError, match="cut off"):
        parse_reply("◁think▷I am still thinking about pyautogui.click(0.5, 0.5) and")


def test_non_thinking_reply() -> None:
    reply = "## Thought:\nThe button is on the right.\n\n## Action:\nClick Save.\n\n## Code:\n```code\npyautogui.click(0.9, 0.1)\n```"
    assert parse_reply(reply) == Step(thought="The button is on the right.", intent="Click Save.", actions=(Click(at=rel(0.9, 0.1)),))


def test_crlf_line_endings() -> None:
    assert parse_reply(THINKING.replace("\n", "\r\n")) == parse_reply(THINKING)


@pytest.mark.parametrize("tag", ["python", "code", "", "py"])
def test_block_tags(tag: str) -> None:
    assert parse_reply(code("pyautogui.press('enter')", tag=tag)).actions == (Press(keys=("enter",)),)


def test_the_last_code_block_wins_and_other_languages_are_skipped() -> None:
    reply = "```python\npyautogui.click(0.1, 0.1)\n```\ntext\n```python\npyautogui.click(0.2, 0.2)\n```\n```bash\nrm -rf /\n```"
    assert parse_reply(reply).actions == (Click(at=rel(0.2, 0.2)),)


def test_code_section_without_a_fence() -> None:
    reply = "## Action:\nPress enter.\n## Code:\npyautogui.press('enter')"
    assert parse_reply(reply).actions == (Press(keys=("enter",)),)


def test_an_unclosed_fence_is_a_cut_off_reply() -> None:
    with pytest.raises(ParseError, match="not closed"):
        parse_reply("## Code:\n```python\npyautogui.click(0.5, 0.5)\n")


def test_no_code_is_an_error() -> None:
    with pytest.raises(ParseError, match="no code"):
        parse_reply("## Action:\nI would click the button.")


def test_several_statements_and_comments() -> None:
    assert actions_of(
        "# focus the field first",
        "pyautogui.click(x=0.5, y=0.5)",
        "time.sleep(0.5)",
        "pyautogui.write('hello')",
        "pyautogui.press('enter')",
    ) == (Click(at=rel(0.5, 0.5)), Wait(seconds=0.5), TypeText(text="hello"), Press(keys=("enter",)))


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("pyautogui.click(0.5, 0.25)", Click(at=rel(0.5, 0.25))),
        ("pyautogui.click(x=0.5, y=0.25, button='right')", Click(at=rel(0.5, 0.25), button="right")),
        ("pyautogui.click(0.5, 0.25, 2)", Click(at=rel(0.5, 0.25), clicks=2)),
        ("pyautogui.click(clicks=3, x=0.5, y=0.25)", Click(at=rel(0.5, 0.25), clicks=3)),
        ("pyautogui.click()", Click()),
        ("pyautogui.click((0.5, 0.25))", Click(at=rel(0.5, 0.25))),
        ("pyautogui.click(100, 200)", Click(at=px(100, 200))),
        ("pyautogui.click(1, 1)", Click(at=px(1, 1))),
        ("pyautogui.click(1.0, 0.5)", Click(at=rel(1.0, 0.5))),
        ("pyautogui.click(0.5, 640)", Click(at=px(0.5, 640))),
        ("pyautogui.click(x=0.5, y=0.5, button='primary', duration=0.2, interval=0.1)", Click(at=rel(0.5, 0.5))),
        ("pyautogui.doubleClick(0.3, 0.4)", Click(at=rel(0.3, 0.4), clicks=2)),
        ("pyautogui.tripleClick(x=0.3, y=0.4)", Click(at=rel(0.3, 0.4), clicks=3)),
        ("pyautogui.rightClick(0.3, 0.4)", Click(at=rel(0.3, 0.4), button="right")),
        ("pyautogui.middleClick(0.3, 0.4)", Click(at=rel(0.3, 0.4), button="middle")),
        ("pyautogui.moveTo(0.3, 0.4)", MoveTo(at=rel(0.3, 0.4))),
        ("pyautogui.moveTo(x=300, y=400, duration=0.5)", MoveTo(at=px(300, 400))),
        ("pyautogui.dragTo(0.6, 0.7)", Drag(to=rel(0.6, 0.7))),
        ("pyautogui.dragTo(0.6, 0.7, button='right')", Drag(to=rel(0.6, 0.7), button="right")),
        ("pyautogui.dragTo(0.6, 0.7, 0.5, button='middle')", Drag(to=rel(0.6, 0.7), button="middle")),
        ("pyautogui.scroll(-5)", Scroll(dy=-5)),
        ("pyautogui.scroll(3, x=0.5, y=0.5)", Scroll(dy=3, at=rel(0.5, 0.5))),
        ("pyautogui.scroll(clicks=3)", Scroll(dy=3)),
        ("pyautogui.hscroll(4)", Scroll(dx=4)),
        ("pyautogui.hscroll(-2, 0.1, 0.2)", Scroll(dx=-2, at=rel(0.1, 0.2))),
        ("pyautogui.write('hello world')", TypeText(text="hello world")),
        ("pyautogui.typewrite('hi', interval=0.05)", TypeText(text="hi")),
        ("pyautogui.write(message='a\\nb')", TypeText(text="a\nb")),
        ("pyautogui.typewrite(['a', 'b', 'enter'])", Press(keys=("a", "b", "enter"))),
        ("pyautogui.press('Enter')", Press(keys=("enter",))),
        ("pyautogui.press(['tab', 'tab'], presses=2)", Press(keys=("tab", "tab"), presses=2)),
        ("pyautogui.press('down', 3)", Press(keys=("down",), presses=3)),
        ("pyautogui.hotkey('ctrl', 'c')", Hotkey(keys=("ctrl", "c"))),
        ("pyautogui.hotkey('Control', 'Shift', 'T')", Hotkey(keys=("ctrl", "shift", "T"))),
        ("pyautogui.hotkey(['ctrl', 'a'])", Hotkey(keys=("ctrl", "a"))),
        ("pyautogui.hotkey('alt', 'f4', interval=0.1)", Hotkey(keys=("alt", "f4"))),
        ("pyautogui.keyDown('shift')", KeyDown(key="shift")),
        ("pyautogui.keyUp(key='shift')", KeyUp(key="shift")),
        ("pyautogui.mouseDown()", MouseDown()),
        ("pyautogui.mouseDown(0.2, 0.3, button='right')", MouseDown(at=rel(0.2, 0.3), button="right")),
        ("pyautogui.mouseUp(x=0.2, y=0.3)", MouseUp(at=rel(0.2, 0.3))),
        ("time.sleep(2)", Wait(seconds=2)),
        ("computer.wait()", Wait(seconds=2)),
        ("computer.wait(5)", Wait(seconds=5)),
        ("computer.terminate(status='success')", Done()),
        ("computer.terminate(status='success', answer='42')", Done(answer="42")),
        ("computer.terminate(status='success', answer=42)", Done(answer="42")),
        ("computer.terminate(status='failure', answer='no such file')", Fail(reason="no such file")),
        ("computer.terminate(status='failure')", Fail()),
        ("DONE", Done()),
        ("FAIL", Fail()),
        ("WAIT", Wait(seconds=2)),
    ],
)
def test_every_call(line: str, expected: object) -> None:
    assert actions_of(line) == (expected,)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("import os", "import"),
        ("from os import system", "import"),
        ("__import__('os').system('id')", "not an allowed action"),
        ("eval('1+1')", "not an allowed action"),
        ("exec('print(1)')", "not an allowed action"),
        ("os.system('rm -rf /')", "not an allowed action"),
        ("subprocess.run(['ls'])", "not an allowed action"),
        ("open('/etc/passwd').read()", "not an allowed action"),
        ("pyautogui.os.system('id')", "not an allowed action"),
        ("pyautogui.screenshot()", "not an allowed action"),
        ("pyautogui.locateOnScreen('x.png')", "not an allowed action"),
        ("pyautogui.click(eval('0.5'), 0.5)", "calls inside arguments"),
        ("pyautogui.click(x, y)", "literal"),
        ("pyautogui.click(0.1 + 0.2, 0.5)", "literal"),
        ("pyautogui.write(f'{__import__(\"os\")}')", "literal"),
        ("pyautogui.click(*[0.5, 0.5])", "literal"),
        ("pyautogui.click(**{'x': 0.5})", "not allowed"),
        ("x = 5", "assignment"),
        ("(y := 3)", "not"),
        ("lambda: 0", "not"),
        ("[pyautogui.click(0.1, 0.1) for _ in range(3)]", "not"),
        ("for i in range(3): pyautogui.click(0.1, 0.1)", "not"),
        ("def f(): pass", "function definition"),
        ("pyautogui.click(0.5, 0.5).x", "not"),
        ("getattr(pyautogui, 'click')(0.5, 0.5)", "not an allowed action"),
        ("pyautogui.press('notakey')", "unknown key"),
        ("pyautogui.hotkey()", "key name"),
        ("pyautogui.click(x=0.5)", "both x and y"),
        ("pyautogui.click(0.5, 0.5, 4)", "clicks"),
        ("pyautogui.click(0.5, 0.5, button='side')", "button"),
        ("pyautogui.moveTo()", "coordinates"),
        ("pyautogui.click(1e999, 0.5)", "out of range"),
        ("pyautogui.click(True, False)", "number"),
        ("pyautogui.write(42)", "string"),
        ("pyautogui.scroll()", "clicks"),
        ("pyautogui.scroll(2.5)", "whole number"),
        ("pyautogui.vscroll(None)", "whole number"),
        ("pyautogui.press('a', presses=None)", "whole number"),
        ("pyautogui.click(0.5, 0.5, clicks=None)", "whole number"),
        ("time.sleep(3600)", "60"),
        ("computer.terminate(status='maybe')", "status"),
        ("pyautogui.click(0.5, 0.5, foo=1)", "no argument"),
        ("pyautogui.click(0.5, 0.5, x=0.1)", "twice"),
        ("pyautogui.click(0.1, 0.2, 1, 0.0, 'left', 0.0, 'extra')", "positional"),
        ("'just a string'", "not"),
        ("pass", "not"),
    ],
)
def test_anything_off_the_table_is_refused(line: str, reason: str) -> None:
    with pytest.raises(ParseError, match=reason):
        actions_of(line)


def test_refusal_never_runs_anything(tmp_path) -> None:
    marker = tmp_path / "pwned"
    for line in (
        f"__import__('os').system('touch {marker}')",
        f"pyautogui.write(__import__('os').system('touch {marker}'))",
        f"import os; os.system('touch {marker}')",
    ):
        with pytest.raises(ParseError):
            actions_of(line)
    assert not marker.exists()


def test_syntax_errors_and_null_bytes_are_parse_errors() -> None:
    for bad in ("pyautogui.click(0.5,", "pyautogui.click(0.5\x00, 0.5)", "(" * 500 + ")" * 500):
        with pytest.raises(ParseError):
            actions_of(bad)


def test_error_messages_name_the_line() -> None:
    with pytest.raises(ParseError, match="line 2"):
        actions_of("pyautogui.click(0.5, 0.5)", "os.remove('x')")


def test_too_long_replies_are_refused() -> None:
    with pytest.raises(ParseError, match="longer"):
        parse_reply("x" * 500_000)
