"""Settling that watches the applications (`wait_until_idle`) on a real Xvfb desktop: it outlasts
work that leaves the screen quiet (a program computing before it draws, a short timer after a
burst of work), and a blinking caret does not hold it."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import numpy as np
import pytest

from actions import Click, MoveTo, Point
from environments.base import ExecutionResult
from environments.desktop import DesktopEnv
from environments.settle import SettleConfig

pytestmark = pytest.mark.desktop

# A window that stays blank while its program computes (0.6 s), then draws a black square.
LATE_DRAWER = """
import select, sys, time
from Xlib import display
connection = display.Display()
screen = connection.screen()
window = screen.root.create_window(400, 300, 200, 150, 0, screen.root_depth,
                                   background_pixel=screen.white_pixel)
window.set_wm_name("late-drawer")
gc = window.create_gc(foreground=screen.black_pixel)
window.map()
connection.sync()
started = time.monotonic()
while time.monotonic() - started < float(sys.argv[1]):
    pass
select.poll().poll(int(sys.argv[2]))
window.fill_rectangle(gc, 20, 20, 100, 80)
connection.sync()
time.sleep(60)
"""


@pytest.fixture
def env(x_display) -> Iterator[DesktopEnv]:
    environment = DesktopEnv()
    environment.reset()
    yield environment
    environment.close()


def square_drawn(desktop, shot: np.ndarray) -> bool:
    """Whether `shot` shows the late drawer's window with its black square (other windows of
    earlier tests may still change elsewhere on the shared display)."""
    window = desktop.wait_for_window("late-drawer")
    # xwininfo, not xdotool: under a reparenting window manager xdotool adds the frame's offset twice.
    found = subprocess.run(["xwininfo", "-id", window], env=desktop.env, capture_output=True, text=True,
                           check=True).stdout
    place = dict(line.split(":", 1) for line in found.splitlines() if "Absolute upper-left" in line)
    x, y = int(place["  Absolute upper-left X"]), int(place["  Absolute upper-left Y"])
    window_there = shot[y + 130, x + 180].tolist() == [255, 255, 255]
    return window_there and shot[y + 60, x + 70].tolist() == [0, 0, 0]


TRIES = 2
"""Settling is not yet never early on a loaded machine (issue #21: 1 early of 56 cases in
`benchmarks.settle`; these tests settled early once in three runs of the whole suite on CI's machine
kind). A drawing is tried twice, each with a fresh drawer: one early settle is tolerated, two fail."""


def settle_on_late_drawing(desktop, env: DesktopEnv, started: list[subprocess.Popen], busy: float,
                           timer_ms: int, at: int) -> tuple[ExecutionResult, bool]:
    """Start a late drawer, wait for its window, act, and say whether the settled frame shows the
    square; up to TRIES times. The last try's result and verdict."""
    for attempt in range(TRIES):
        drawer = desktop.launch([sys.executable, "-c", LATE_DRAWER, str(busy), str(timer_ms)])
        started.append(drawer)
        desktop.wait_for_window("late-drawer")  # mapped (a loaded machine starts Python slowly), not drawn
        result = env.perform(MoveTo(at=Point(x=at + attempt, y=at, space="screen")))
        drawn = square_drawn(desktop, np.asarray(env.last_screenshot.image))
        if drawn or attempt == TRIES - 1:
            return result, drawn
        drawer.kill()
        drawer.wait()
        gone = time.monotonic() + 10
        search = ["xdotool", "search", "--name", "late-drawer"]
        while time.monotonic() < gone and subprocess.run(search, env=desktop.env,
                                                         capture_output=True).returncode == 0:
            time.sleep(0.05)
    raise AssertionError("unreachable")


@pytest.mark.parametrize("busy, timer_ms", [(0.6, 0), (0.2, 250)],
                         ids=["computes-then-draws", "timer-then-draws"])
def test_settling_outlasts_work_that_leaves_the_screen_quiet(
        x_display, env: DesktopEnv, started: list[subprocess.Popen], busy: float, timer_ms: int) -> None:
    assert env.activity is not None  # Xvfb has DAMAGE: settling watches the applications
    result, drawn = settle_on_late_drawing(x_display, env, started, busy, timer_ms, 5)
    assert result.settle.stable and result.settle.changed
    assert drawn, f"settled before the square was drawn, {TRIES} times"


def test_comparing_frames_alone_is_fooled_by_it(x_display, started: list[subprocess.Popen]) -> None:
    """The fallback rule (and the earlier default) settles on the blank window."""
    environment = DesktopEnv(settle=SettleConfig(watch=False))
    environment.reset()
    try:
        started.append(x_display.launch([sys.executable, "-c", LATE_DRAWER, "0.8", "0"]))
        x_display.wait_for_window("late-drawer")
        environment.perform(MoveTo(at=Point(x=6, y=6, space="screen")))
        assert not square_drawn(x_display, np.asarray(environment.last_screenshot.image))
    finally:
        environment.close()


def test_a_blinking_caret_does_not_hold_settling(x_display, env: DesktopEnv,
                                                 started: list[subprocess.Popen]) -> None:
    started.append(x_display.launch(["mousepad"]))
    x_display.wait_for_window("Mousepad", timeout=30)
    time.sleep(1.0)
    subprocess.run(["xdotool", "search", "--name", "Mousepad", "windowmove", "%@", "100", "100"],
                   env=x_display.env, check=False)
    env.perform(Click(at=Point(x=300, y=300, space="screen")))
    time.sleep(1.0)  # the caret blinks from here on
    settled = [env.perform(MoveTo(at=Point(x=310 + i, y=300, space="screen"))).settle for i in range(3)]
    assert all(s.stable for s in settled)
    assert max(s.seconds for s in settled) < 1.0


def test_the_frame_settled_on_is_the_candidate_offered_while_waiting(
        x_display, env: DesktopEnv, started: list[subprocess.Popen]) -> None:
    """The agent encodes a candidate while settling waits: the settled screenshot is that very object,
    and it shows the finished drawing (no second grab); after an action that changes nothing too."""
    offered: list[object] = []
    env.listen_for_candidates(offered.append)
    result, drawn = settle_on_late_drawing(x_display, env, started, 0.4, 0, 7)
    assert result.settle.stable and offered
    assert env.last_screenshot is offered[-1]
    assert drawn, f"settled before the square was drawn, {TRIES} times"
    env.perform(MoveTo(at=Point(x=21, y=21, space="screen")))  # no effect on the screen
    assert env.last_screenshot is offered[-1]  # offered before the wait for an effect ended, and kept
    env.listen_for_candidates(None)
    env.perform(MoveTo(at=Point(x=20, y=20, space="screen")))
    assert env.last_screenshot is not offered[-1]
