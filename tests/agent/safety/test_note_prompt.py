"""The guard's note to the model: its wording (golden file) and its place in the history."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agent.backends.chat import TextPart
from agent.episode.history import History
from agent.episode.policy import read_reply
from prompts import guard_note_text

GOLDEN = Path(__file__).parents[2] / "golden" / "prompts" / "guard_note.txt"
NOTES = ["Action 1 (hotkey ctrl+alt+del) was denied: it ends the session.", "None of your last step's\nactions were performed."]


def test_the_note_matches_its_golden_file() -> None:
    rendered = guard_note_text(NOTES).encode("utf-8")
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_bytes(rendered)
    assert GOLDEN.read_bytes() == rendered, f"{GOLDEN} differs; regenerate with UPDATE_GOLDEN=1 and review the diff"


def test_an_empty_note_is_refused() -> None:
    with pytest.raises(ValueError):
        guard_note_text([])
    with pytest.raises(ValueError):
        guard_note_text("one string")


def test_a_note_opens_the_next_turn_and_only_appends_to_the_request() -> None:
    history = History(system="sys", task="task")
    history.observe("img:0", (10, 10), "f0")
    before = history.messages()
    history.answer(*read_reply("## Action:\nclick\n\n## Code:\n```python\npyautogui.click(1, 1)\n```"))
    history.observe("img:1", (10, 10), "f1", note="the note")
    after = history.messages()
    assert after[: len(before)] == before
    last = after[-1].content
    assert [type(p).__name__ for p in last] == ["TextPart", "ImagePart"] and last[0] == TextPart(text="the note")
    history.answer(*read_reply("```python\npyautogui.press('x')\n```"))
    history.observe("img:2", (10, 10), "f2")
    assert history.messages()[: len(after)] == after  # the note stays where it was, later turns append
