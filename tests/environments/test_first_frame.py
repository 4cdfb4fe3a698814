"""The first observation of every desktop task of the local suite shows its application fully
drawn: it equals a frame taken 3 s later (a blinking caret aside), so the model's first decision
is made on the screen the task means (Calc's sheet, Writer's page, the terminal's prompt)."""

from __future__ import annotations

import shutil
import time

import numpy as np
import pytest

from environments.base import TaskOptions
from environments.desktop import DesktopEnv
from environments.screen import ScreenCapture
from environments.tasks.suite import SUITE

pytestmark = pytest.mark.desktop

TASKS = ["libreoffice_calc/calc-sum-prices", "libreoffice_writer/writer-add-paragraph",
         "os/terminal-write-file", "text_editor/mousepad-append-line"]
CARET_WIDTH, CARET_HEIGHT = 3, 48
"""As benchmarks/settle.py masks it: a change at most this narrow and short is a caret blinking."""


def changed_box(a: np.ndarray, b: np.ndarray) -> tuple[int, int, int, int] | None:
    diff = (a != b).any(axis=2)
    rows = np.flatnonzero(diff.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(diff[rows[0]: rows[-1] + 1].any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


@pytest.fixture(scope="module")
def env(x_display):
    for program in ("libreoffice", "mousepad", "xterm", "tmux"):
        if shutil.which(program) is None:
            pytest.skip(f"{program} is not installed")
    environment = DesktopEnv()
    yield environment
    environment.close()


@pytest.mark.parametrize("name", TASKS)
def test_the_first_frame_after_setup_shows_the_application_drawn(env: DesktopEnv, name: str) -> None:
    observation, _ = env.reset(options=TaskOptions(task=SUITE / "examples" / f"{name}.json"))
    first = observation["screenshot"]
    time.sleep(3.0)
    capture = ScreenCapture()
    later = np.asarray(capture.capture().image)
    capture.close()
    box = changed_box(first, later)
    if box is not None:
        left, top, right, bottom = box
        caret = right - left <= CARET_WIDTH and bottom - top <= CARET_HEIGHT
        assert caret, f"the screen changed later in {box}"
