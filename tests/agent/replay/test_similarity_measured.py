"""The measurements behind the default threshold: real Xvfb screens in the same and in different states.

Each 'recorded' frame went through what a trajectory keeps (the model's 28-px resize, JPEG);
each 'live' one is a fresh capture from another desktop, as a replay sees it. Run with -s to
print the table; the numbers are quoted in agent/replay/similarity.py.
"""

from __future__ import annotations

import io
import subprocess
import time
from pathlib import Path

import mss
import pytest
from PIL import Image, ImageDraw

from agent.replay.similarity import DEFAULT_THRESHOLD, compare
from environments.encode import encode_image, resize_for_model
from environments.virtual_desktop import VirtualDesktop
from tests.agent.replay.conftest import start_xterm

pytestmark = pytest.mark.desktop
CLOCK = "while :; do printf '\\r%s' \"$(date +%T.%N)\"; sleep 0.1; done"


def grab(desktop: VirtualDesktop) -> Image.Image:
    with mss.MSS(display=desktop.display) as grabber:
        raw = grabber.grab(grabber.monitors[1])
    return Image.frombuffer("RGB", raw.size, raw.bgra, "raw", "BGRX", 0, 1).copy()


def recorded(image: Image.Image) -> Image.Image:
    return Image.open(io.BytesIO(encode_image(resize_for_model(image), "jpeg").data))


def xdotool(desktop: VirtualDesktop, *args: str) -> None:
    subprocess.run(["xdotool", *args], env=desktop.env, check=True)


def test_same_states_score_above_the_threshold_and_different_ones_well_below(tmp_path: Path) -> None:
    with VirtualDesktop(1280, 800) as one:
        empty = grab(one)
        start_xterm(one, tmp_path)
        terminal = recorded(grab(one))
        xdotool(one, "type", "--delay", "5", "ls -la /usr/bin | head -30\n")
        time.sleep(0.8)
        listing = grab(one)
    with VirtualDesktop(1280, 800) as two:
        start_xterm(two, tmp_path)
        fresh = grab(two)
        xdotool(two, "search", "--name", "replay-term", "windowmove", "300", "0")
        time.sleep(0.5)
        moved = grab(two)
    with VirtualDesktop(1280, 800) as three:
        start_xterm(three, tmp_path, "-e", "bash", "-c", CLOCK)
        clock_before = recorded(grab(three))
        time.sleep(1.2)
        clock_after = grab(three)
    with VirtualDesktop(1280, 800) as four:
        four.launch(["mousepad"], cwd=tmp_path)
        four.wait_for_window("Mousepad")
        time.sleep(1.0)
        mousepad = grab(four)
    cursor = fresh.copy()  # X captures leave the pointer out; other sources may not
    ImageDraw.Draw(cursor).polygon([(300, 200), (300, 222), (306, 216), (311, 226), (314, 224), (309, 214), (317, 214)],
                                   fill="white", outline="black")
    same = {
        "fresh desktop, same xterm": compare(fresh, terminal),
        "same, with a mouse cursor": compare(cursor, terminal),
        "a terminal clock 1.2 s later": compare(clock_after, clock_before),
    }
    different = {
        "'ls' output instead of a prompt": compare(listing, terminal),
        "the xterm moved 300 px": compare(moved, terminal),
        "mousepad instead of the xterm": compare(mousepad, terminal),
        "no window instead of the xterm": compare(empty, terminal),
    }
    for name, similarity in {**same, **different}.items():
        print(f"{name:36s} {similarity.score:.3f} ({similarity.changed_blocks}/{similarity.blocks} blocks differ)")
    assert min(s.score for s in same.values()) >= 0.99 > DEFAULT_THRESHOLD
    assert max(s.score for s in different.values()) <= 0.9 < DEFAULT_THRESHOLD
