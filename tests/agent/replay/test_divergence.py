"""The evidence of a divergence outlines where the screens differ, the blocks `compare` counted."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

from agent.replay.divergence import LABEL_HEIGHT, differing_blocks, save_divergence
from agent.replay.similarity import compare


def _screens() -> tuple[Image.Image, Image.Image]:
    recorded = Image.new("RGB", (1280, 800), "#203040")
    ImageDraw.Draw(recorded).rectangle((100, 100, 500, 400), fill="white")
    live = recorded.copy()
    ImageDraw.Draw(live).rectangle((800, 500, 1000, 700), fill="orange")  # a window that was not there
    return recorded, live


def test_the_outlined_blocks_are_where_the_screens_differ() -> None:
    recorded, live = _screens()
    assert differing_blocks(recorded, recorded) == []
    boxes = differing_blocks(live, recorded)
    assert len(boxes) == compare(live, recorded).changed_blocks > 0
    assert all(770 <= left and right <= 1030 and 470 <= top and bottom <= 730
               for left, top, right, bottom in boxes)


def test_the_picture_holds_both_frames_side_by_side(tmp_path: Path) -> None:
    recorded, live = _screens()
    similarity = compare(live, recorded)
    path = save_divergence(tmp_path / "evidence", recorded.resize((1288, 812)), live, 7, similarity)
    assert path.name == "diverged-step-007.png"
    with Image.open(path) as sheet:
        assert sheet.size[1] == 800 + LABEL_HEIGHT and sheet.size[0] > 2 * 1280
        # the live side shows the window, the recorded side does not
        assert sheet.getpixel((1280 + 20 + 900, LABEL_HEIGHT + 600)) == (255, 165, 0)
        assert sheet.getpixel((900, LABEL_HEIGHT + 600)) == (32, 48, 64)
