"""Prompt rendering: golden files byte for byte, verbatim insertion, append-only history.

Regenerate the golden files after an intended wording change with
`UPDATE_GOLDEN=1 python3 -m pytest tests/prompts/test_prompts.py`, then review the diff of
tests/golden/prompts/ before committing it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import pytest

from prompts import VARIANTS, agent_system_prompt, agent_task_text, feedback_text, grounding_prompt

GOLDEN = Path(__file__).parents[1] / "golden" / "prompts"
HISTORY = ("Open the File menu.", "Click  'Save as'\nin the menu.", "")
TRICKY = "Rename {{instruction}} to {name} and $HOME ${x} {{error}} }}{{ %s {0}"

CASES: dict[str, Callable[[], str]] = {
    "agent_system_thinking": lambda: agent_system_prompt("thinking"),
    "agent_system_instruct": lambda: agent_system_prompt("instruct"),
    "agent_task": lambda: agent_task_text("  Save the document as report.odt\n"),
    "agent_task_history": lambda: agent_task_text("Save the document as report.odt", HISTORY),
    "grounding": lambda: grounding_prompt("the blue Submit button"),
    "feedback": lambda: feedback_text("line 1: os.system is not an allowed action\n"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_golden_file(name: str) -> None:
    path = GOLDEN / f"{name}.txt"
    rendered = CASES[name]().encode("utf-8")
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rendered)
    # Bytes, not text, so a line-end or encoding change shows up as a failure.
    assert path.read_bytes() == rendered, f"{path} differs; see this module's docstring"


@pytest.mark.parametrize("name", sorted(CASES))
def test_rendering_twice_gives_identical_bytes(name: str) -> None:
    assert CASES[name]().encode("utf-8") == CASES[name]().encode("utf-8")


@pytest.mark.parametrize(
    "render",
    [lambda s: agent_task_text(s), lambda s: agent_task_text(s, ["x"]), grounding_prompt],
    ids=["task", "task_history", "grounding"],
)
def test_instruction_with_braces_dollars_and_placeholders_is_verbatim(render: Callable[[str], str]) -> None:
    text = render(TRICKY)
    assert TRICKY in text
    assert text.count("{{") == TRICKY.count("{{")


def test_feedback_error_is_verbatim() -> None:
    assert TRICKY in feedback_text(TRICKY)


def test_instruction_is_stripped_but_inner_text_kept() -> None:
    text = agent_task_text("\n  first line\n\n  second  line \t\n")
    assert "first line\n\n  second  line" in text
    assert text.endswith("second  line")


def test_appending_a_history_item_only_appends() -> None:
    texts = [agent_task_text("Do it", HISTORY[:n]) for n in range(len(HISTORY) + 1)]
    for shorter, longer in zip(texts, texts[1:]):
        assert longer.startswith(shorter) and len(longer) > len(shorter)


def test_history_items_are_numbered_single_lines() -> None:
    lines = agent_task_text("Do it", HISTORY).split("\n")[-3:]
    assert lines == ["1. Open the File menu.", "2. Click 'Save as' in the menu.", "3. (no action described)"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_both_variants_ask_for_action_and_code(variant: str) -> None:
    text = agent_system_prompt(variant)  # type: ignore[arg-type]
    assert "## Action:" in text and "## Code:" in text and "```python" in text
    assert text.index("## Action:") < text.index("## Code:")
    assert "{{" not in text


def test_thinking_variant_does_not_ask_for_a_thought_section() -> None:
    assert "## Thought:" not in agent_system_prompt("thinking")


def test_instruct_variant_asks_for_thought_then_action() -> None:
    text = agent_system_prompt("instruct")
    assert text.index("## Thought:") < text.index("## Action:")


@pytest.mark.parametrize("variant", VARIANTS)
def test_system_prompt_names_every_allowed_call(variant: str) -> None:
    text = agent_system_prompt(variant)  # type: ignore[arg-type]
    calls = [
        "click", "doubleClick", "rightClick", "middleClick", "tripleClick", "moveTo", "dragTo",
        "scroll", "hscroll", "write", "typewrite", "press", "hotkey", "keyDown", "keyUp",
        "mouseDown", "mouseUp",
    ]
    for call in calls:
        assert f"pyautogui.{call}(" in text
    for call in ("time.sleep(", "computer.wait()", 'computer.terminate(status="success"', 'status="failure"'):
        assert call in text


def test_grounding_asks_for_one_relative_click() -> None:
    text = grounding_prompt("the OK button")
    assert "## Action:" in text and "## Code:" in text and "pyautogui.click(x=" in text
    assert "0 to 1" in text


def test_bad_arguments_raise() -> None:
    with pytest.raises(ValueError, match="variant"):
        agent_system_prompt("other")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="empty"):
        agent_task_text(" \n")
    with pytest.raises(TypeError):
        agent_task_text("Do it", "one string")
