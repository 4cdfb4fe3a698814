"""GIF and MP4 export of a real trajectory: frame count, size, and the overlay in the pixels."""

from __future__ import annotations

from pathlib import Path

import av
import pytest
from PIL import Image, ImageSequence
from typer.testing import CliRunner

from agent.trajectory.store import Trajectory
from agent.view.overlay import COLOURS
from tests.agent.trajectory.helpers import cli

pytestmark = pytest.mark.browser  # the trajectory is recorded in Chromium
RED = tuple(int(COLOURS["click"][i:i + 2], 16) for i in (1, 3, 5))


def _near(pixel: tuple[int, ...], colour: tuple[int, ...], tolerance: int) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour))


def _click_pixel(trajectory: Trajectory) -> tuple[int, int]:
    """Where step 1 clicked, in pixels of its frame."""
    x, y = trajectory.steps[0].coordinates[0].image
    return round(x), round(y)


def test_gif_and_mp4_have_a_frame_per_step_with_the_actions_burnt_in(recorded: dict[str, Trajectory], tmp_path: Path) -> None:
    trajectory = recorded["thinking"]
    gif, mp4 = tmp_path / "episode.gif", tmp_path / "episode.mp4"
    result = CliRunner().invoke(
        cli(), ["view", str(trajectory.folder), "--no-html", "--gif", str(gif), "--mp4", str(mp4), "--seconds-per-step", "0.5"]
    )
    assert result.exit_code == 0, result.output
    assert "gif:" in result.output and "mp4:" in result.output and "page:" not in result.output
    size = (trajectory.steps[0].frame.image_width, trajectory.steps[0].frame.image_height)
    click = _click_pixel(trajectory)

    with Image.open(gif) as image:
        frames = [frame.convert("RGB") for frame in ImageSequence.Iterator(image)]
        assert image.info["duration"] == 500 and image.info.get("loop") == 0
    assert len(frames) == len(trajectory.steps) == 6
    assert all(frame.size == size for frame in frames)
    assert _near(frames[0].getpixel(click), RED, 40)
    with Image.open(trajectory.frame_path(trajectory.steps[0])) as raw:
        assert not _near(raw.convert("RGB").getpixel(click), RED, 80), "the red comes from the overlay"

    with av.open(str(mp4)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264" and (stream.width, stream.height) == size
        decoded = [frame.to_image() for frame in container.decode(video=0)]
    assert len(decoded) == len(trajectory.steps)
    assert _near(decoded[0].getpixel(click), RED, 60)
