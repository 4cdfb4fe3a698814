"""Image-token arithmetic against the figures computed in KIMI_VL.md, and prefix counting."""

from __future__ import annotations

import pytest

from agent.backends.chat import ImagePart, ImageURL, Message, TextPart
from agent.episode.tokens import count_prompt, segments, text_tokens
from environments.patches import image_tokens, model_image_size

THINKING_2506 = 16384
INSTRUCT = 4096


@pytest.mark.parametrize(
    ("size", "limit", "resized", "tokens"),
    [
        ((1920, 1080), INSTRUCT, (1196, 672), 1032),
        ((1920, 1080), THINKING_2506, (1920, 1080), 2691),
        ((2560, 1440), INSTRUCT, None, 1075),
        ((2560, 1440), THINKING_2506, None, 4214),
        ((1932, 1092), THINKING_2506, (1932, 1092), 2691),
    ],
)
def test_image_tokens_match_the_processor_rule(size, limit, resized, tokens) -> None:
    if resized:
        assert model_image_size(*size, limit) == resized
    assert image_tokens(*size, limit) == tokens


def test_images_are_never_scaled_up() -> None:
    assert model_image_size(280, 140, INSTRUCT) == (280, 140)
    assert image_tokens(280, 140, INSTRUCT) == 10 * 5


def _request(*parts: str) -> list[Message]:
    content = tuple(
        ImagePart(image_url=ImageURL(url=p)) if p.startswith("img:") else TextPart(text=p) for p in parts
    )
    return [Message(role="system", content="system prompt"), Message(role="user", content=content)]


def test_appending_keeps_the_whole_previous_request_as_prefix() -> None:
    before = segments(_request("task", "img:1"), [(1920, 1080)], THINKING_2506)
    after = segments(_request("task", "img:1", "more", "img:2"), [(1920, 1080)] * 2, THINKING_2506)
    count = count_prompt(after, before)
    assert count.shared_prefix == sum(s.tokens for s in before)
    assert count.new == text_tokens("more") + 2691 + 4


def test_a_changed_image_breaks_the_prefix_there() -> None:
    before = segments(_request("task", "img:1", "img:2"), [(1920, 1080)] * 2, THINKING_2506)
    after = segments(_request("task", "img:2", "img:3"), [(1920, 1080)] * 2, THINKING_2506)
    count = count_prompt(after, before)
    assert count.new == 2 * (2691 + 4)


def test_text_diverging_midway_shares_its_common_part() -> None:
    before = segments(_request("a" * 400 + "x"), [], THINKING_2506)
    after = segments(_request("a" * 400 + "y"), [], THINKING_2506)
    count = count_prompt(after, before)
    assert count.new <= 2
    assert count_prompt(after, None).shared_prefix == 0
