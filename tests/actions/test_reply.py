"""The reply layout has one home: what `compose_reply` writes, `split_reply` reads back unchanged."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from actions.reply import ReplyParts, compose_reply, split_reply

# Text that holds none of the layout's own marks: headings, fences, think markers, line ends to normalise.
plain = st.text(st.characters(blacklist_characters="#`◁▷<>\r", blacklist_categories=("Cs",)), max_size=80)
parts = st.builds(
    ReplyParts,
    thought=plain.map(str.strip),
    intent=plain.map(str.strip),
    code=plain.filter(str.strip),
)


@given(parts, st.booleans())
def test_split_reads_back_what_compose_writes(written: ReplyParts, thinking_markers: bool) -> None:
    text = compose_reply(written.thought, written.intent, written.code, thinking_markers=thinking_markers)
    assert split_reply(text) == written


@given(parts)
def test_a_reply_without_its_thought_reads_back_with_an_empty_one(written: ReplyParts) -> None:
    text = compose_reply(None, written.intent, written.code)
    assert split_reply(text) == ReplyParts("", written.intent, written.code)


def test_the_layouts_the_prompts_ask_for() -> None:
    code = "pyautogui.click(x=0.5, y=0.5)"
    answer = "## Action:\nClick OK.\n\n## Code:\n```python\n" + code + "\n```"
    assert compose_reply("Look.", "Click OK.", code, thinking_markers=True) == "◁think▷Look.◁/think▷" + answer
    assert compose_reply("Look.", "Click OK.", code) == "## Thought:\nLook.\n\n" + answer
    assert compose_reply(None, "Click OK.", code) == answer
