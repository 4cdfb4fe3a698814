"""History: append-only between rare block trims, so requests share their prefixes."""

from __future__ import annotations

import pytest

from agent.backends.chat import ImagePart, TextPart
from agent.episode.history import OMITTED, History, HistoryConfig, history_reply
from agent.episode.policy import read_reply
from agent.episode.tokens import count_prompt, segments

REPLY = (
    "◁think▷long private reasoning◁/think▷## Action:\nClick OK.\n## Code:\n"
    "```python\npyautogui.click(x=0.5, y=0.5)\n```"
)
STEP, CODE = read_reply(REPLY)
SIZE = (1920, 1080)
THINKING_2506 = 16384


def _images(history: History) -> list[str]:
    return [
        part.image_url.url
        for m in history.messages()
        if not isinstance(m.content, str)
        for part in m.content
        if isinstance(part, ImagePart)
    ]


def test_history_keeps_action_and_code_but_not_the_thinking() -> None:
    text = history_reply(STEP, CODE)
    assert "private reasoning" not in text
    assert text == "## Action:\nClick OK.\n\n## Code:\n```python\npyautogui.click(x=0.5, y=0.5)\n```"


def test_messages_alternate_and_carry_the_task_first() -> None:
    h = History(system="S", task="T")
    h.observe("img:0", SIZE, "frames/0000.png")
    h.answer(STEP, CODE)
    h.observe("img:1", SIZE, "frames/0001.png")
    messages = h.messages()
    assert [m.role for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[1].content[0] == TextPart(text="T")
    recorded = h.messages(names=True)
    assert recorded[3].content[0].image_url.url == "frames/0001.png"


def test_old_screenshots_are_dropped_in_blocks() -> None:
    h = History(system="S", task="T", config=HistoryConfig(max_images=4, keep_images=2))
    seen = []
    for i in range(9):
        h.observe(f"img:{i}", SIZE)
        seen.append(len(_images(h)))
        h.answer(STEP, CODE)
    assert seen == [1, 2, 3, 4, 2, 3, 4, 2, 3]
    assert _images(h) == ["img:6", "img:7", "img:8"]
    omitted = [p for m in h.messages() if not isinstance(m.content, str) for p in m.content if p == TextPart(text=OMITTED)]
    assert len(omitted) == 6


def test_new_tokens_per_step_stay_near_one_screenshot() -> None:
    h = History(system="S" * 2000, task="T")
    previous = None
    new = []
    for i in range(30):
        h.observe(f"img:{i}", SIZE)
        current = segments(h.messages(), h.image_sizes(), THINKING_2506)
        new.append(count_prompt(current, previous).new)
        previous = current
        h.answer(STEP, CODE)
    steady = new[1:]
    assert sum(steady) / len(steady) <= 3500
    assert sum(1 for n in steady if n > 2691 + 200) <= len(steady) // 4


def test_feedback_is_appended_to_the_current_turn_only() -> None:
    h = History(system="S", task="T")
    h.observe("img:0", SIZE)
    with_feedback = h.messages(feedback="try again")
    assert with_feedback[-1].content[-1] == TextPart(text="try again")
    assert h.messages()[-1].content[-1] != TextPart(text="try again")


def test_a_turn_needs_its_reply_before_the_next() -> None:
    h = History(system="S", task="T")
    h.observe("img:0", SIZE)
    with pytest.raises(RuntimeError):
        h.observe("img:1", SIZE)


def test_bad_config_is_refused() -> None:
    with pytest.raises(ValueError):
        HistoryConfig(max_images=2, keep_images=3)


def test_answered_turns_are_built_once_and_match_a_fresh_build() -> None:
    """Each step resends the whole history: its messages are reused, never rebuilt, yet the request
    is the same as one built from scratch (screenshots dropped in blocks, names, feedback)."""
    config = HistoryConfig(max_images=3, keep_images=1)
    h = History(system="S", task="T", config=config)
    for i in range(7):
        h.observe(f"img:{i}", SIZE, f"frames/{i:04d}.png", note="guard said no" if i == 2 else None)
        before = h.messages()
        fresh = History(system="S", task="T", config=config, turns=[
            type(turn)(turn.image, turn.size, turn.name, turn.note, turn.reply) for turn in h.turns],
            first_kept=h.first_kept)
        for feedback in (None, "try again"):
            for names in (False, True):
                assert h.messages(feedback, names) == fresh.messages(feedback, names)
        assert h.messages()[-1].content[-1] != TextPart(text="try again")  # feedback never kept
        again = h.messages()
        # every message, the system prompt and the unanswered turn included, is the same object as
        # before: the request body and the token count find them again by identity
        assert len(before) == len(again) and all(a is b for a, b in zip(before, again))
        h.answer(STEP, CODE)
