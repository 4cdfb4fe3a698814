"""Settling in the browser waits for the page's own update, not for two equal screenshots.

Each page of `benchmarks.slow_pages` pauses mid-update (a timer, a slow fetch, a slow next page,
a debounce, a script-driven slide); the settled screenshot must equal one taken once the update
has surely ended, and the page's last change must come before the settle ended."""

from __future__ import annotations

import io
import time

import numpy as np
import pytest
from PIL import Image

from benchmarks.settle import changed_box
from benchmarks.slow_pages import CASES, LAST_RENDER, SIZE, Case, SlowPages
from environments.activity import CARET_HEIGHT, CARET_WIDTH
from environments.base import TaskOptions
from environments.browser import BrowserEnv
from environments.settle import poll_until_identical
from environments.tasks.suite import SUITE

pytestmark = pytest.mark.browser
AFTER = 1.5
"""Seconds after settling when every case's update has surely ended (the longest is 0.7 s)."""


@pytest.fixture(scope="module")
def site():
    with SlowPages() as pages:
        yield pages


@pytest.fixture(scope="module")
def env():
    browser = BrowserEnv(*SIZE)
    yield browser
    browser.close()


def _changed_box(a: np.ndarray, b: np.ndarray) -> tuple[int, int, int, int] | None:
    """The box of the pixels that differ, None if none do but a blinking text caret."""
    box = changed_box(a, b)
    return None if box is None or (box[2] - box[0] <= CARET_WIDTH and box[3] - box[1] <= CARET_HEIGHT) else box


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_settled_screenshot_shows_the_finished_update(env: BrowserEnv, site: SlowPages, case: Case) -> None:
    env.reset(options={"url": site.url})
    for action in case.actions:
        result = env.perform(action)
        assert result.ok, result.error
    settled_at_ms = time.time() * 1000
    settled = np.asarray(env.last_screenshot.image)
    assert result.settle is not None and result.settle.stable and result.settle.changed
    time.sleep(AFTER)
    assert env.page.evaluate(LAST_RENDER) <= settled_at_ms, "the page changed after the screenshot"
    final = _pixels(env._grab())
    assert _changed_box(settled, final) is None, "the screen changed after the screenshot"


def test_two_equal_screenshots_end_before_a_timer_fires(env: BrowserEnv, site: SlowPages) -> None:
    """Why the page is watched: the earlier rule (two equal screenshots in a row) ends during the
    timer case's 350 ms pause and shows the page before its update."""
    env.reset(options={"url": site.url})
    timer = next(c for c in CASES if c.name.startswith("timer"))
    env.executor.execute(timer.actions[0])
    polled = poll_until_identical(env._grab, 0.03, time.monotonic() + 3)
    time.sleep(AFTER)
    assert polled.stable and _changed_box(_pixels(polled.data), _pixels(env._grab())) is not None


BROWSER_TASKS = sorted(p.stem for p in (SUITE / "examples" / "chrome").glob("*.json"))


@pytest.mark.parametrize("name", BROWSER_TASKS)
def test_the_first_frame_of_each_browser_task_shows_its_page_drawn(env: BrowserEnv, name: str) -> None:
    """As tests/environments/test_first_frame.py for the desktop tasks: the first observation after
    a task's setup equals a screenshot taken 3 s later."""
    observation, _ = env.reset(options=TaskOptions(task=SUITE / "examples" / "chrome" / f"{name}.json"))
    time.sleep(3.0)
    assert _changed_box(observation["screenshot"], _pixels(env._grab())) is None
