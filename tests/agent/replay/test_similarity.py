"""The perceptual measure on synthetic screens: tolerant of a cursor, a clock and the model's resize, not of a new window."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from agent.replay.similarity import DEFAULT_THRESHOLD, block_ssim, compare
from environments.encode import encode_image, resize_for_model


def desktop(window_at: tuple[int, int] = (0, 0), text: str = "user@host:~$ ls") -> Image.Image:
    """A black 1280×800 desktop with a white 80×24 'terminal' full of text."""
    image = Image.new("RGB", (1280, 800), "black")
    draw = ImageDraw.Draw(image)
    x, y = window_at
    draw.rectangle((x, y, x + 484, y + 340), fill="white")
    draw.rectangle((x, y, x + 484, y + 18), fill=(90, 130, 200))
    for row in range(24):
        draw.text((x + 4, y + 24 + 13 * row), f"{text} {row} " * 4, fill="black")
    return image


def as_recorded(image: Image.Image) -> Image.Image:
    """What a trajectory keeps: resized to Kimi-VL's 28-px grid, JPEG q95."""
    return Image.open(io.BytesIO(encode_image(resize_for_model(image), "jpeg").data)).convert("RGB")


def test_the_same_screen_scores_one_even_after_the_models_resize_and_jpeg() -> None:
    screen = desktop()
    assert as_recorded(screen).size == (1288, 812)
    assert compare(screen, as_recorded(screen)).score == 1.0


def test_a_mouse_cursor_or_a_changed_clock_stays_above_the_threshold() -> None:
    with_cursor = desktop()
    ImageDraw.Draw(with_cursor).polygon([(600, 500), (600, 522), (606, 516), (611, 526), (614, 524), (609, 514), (617, 514)],
                                        fill="white", outline="black")
    clock = desktop()
    ImageDraw.Draw(clock).text((1200, 780), "12:01:59", fill="white")
    other_clock = desktop()
    ImageDraw.Draw(other_clock).text((1200, 780), "12:02:00", fill="white")
    assert compare(with_cursor, as_recorded(desktop())).score >= DEFAULT_THRESHOLD
    assert compare(clock, as_recorded(other_clock)).score >= DEFAULT_THRESHOLD


def test_a_moved_window_or_different_content_falls_below_the_threshold() -> None:
    recorded = as_recorded(desktop())
    moved = compare(desktop(window_at=(400, 200)), recorded)
    other_text = compare(desktop(text="-rwxr-xr-x 1 root root 14720 appres"), recorded)
    empty = compare(Image.new("RGB", (1280, 800), "black"), recorded)
    for similarity in (moved, other_text, empty):
        assert similarity.score < DEFAULT_THRESHOLD
        assert similarity.changed_blocks == round((1 - similarity.score) * similarity.blocks)


def test_block_ssim_is_one_for_equal_tiles_and_low_for_unrelated_ones() -> None:
    rng = np.random.default_rng(0)
    a = rng.uniform(0, 255, (16, 24))
    assert block_ssim(a, a, 8) == pytest.approx(np.ones((2, 3)))
    assert (block_ssim(a, 255 - a, 8) < 0).all()
    with pytest.raises(ValueError, match="no 8-px block"):
        block_ssim(a[:4], a[:4], 8)
