"""BrowserEnv: Playwright with Debian's Chromium, CSS-pixel coordinates, the Gymnasium API."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import environments  # noqa: F401  (registers the env ids)
from actions import Click, Done, Hotkey, Point, Press, Scroll, TypeText

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
PAGE = """data:text/html,<body style='margin:0;height:3000px'>
<input id=i style='position:absolute;left:100px;top:100px;width:300px;height:30px'>
<button onclick="document.title='clicked:'+document.getElementById('i').value"
 style='position:absolute;left:100px;top:200px;width:100px;height:40px'>Go</button></body>"""


@pytest.fixture
def browser():
    env = gymnasium.make("KimiBrowser-v0", width=640, height=480)
    env.reset(options={"url": PAGE, "instruction": "type and click"})
    yield env.unwrapped
    env.close()


def test_gymnasium_make_passes_check_env() -> None:
    env = gymnasium.make("KimiBrowser-v0")
    check_env(env.unwrapped)
    env.close()


def test_clicks_typing_and_keys_reach_the_page(browser) -> None:
    assert browser.perform(Click(at=Point(x=150, y=115, space="image"))).ok
    assert browser.perform(TypeText(text="héllo")).ok
    browser.perform(Hotkey(keys=("ctrl", "a")))
    browser.perform(TypeText(text="kimi"))
    browser.perform(Press(keys=("end",)))
    result = browser.perform(Click(at=Point(x=150 / 640, y=220 / 480, space="relative")))
    assert result.chain.screen == (150, 220)
    assert browser.page.title() == "clicked:kimi"


def test_scroll_moves_the_page(browser) -> None:
    browser.perform(Scroll(dy=-3, at=Point(x=0.5, y=0.5, space="relative")))
    assert browser.page.evaluate("window.scrollY") == 300


def test_screenshot_matches_the_viewport_and_done_terminates(browser) -> None:
    obs, _, terminated, _, info = browser.step(Done().model_dump_json())
    assert terminated and info["result"].ok
    assert obs["screenshot"].shape == (480, 640, 3) and obs["screenshot"].dtype == np.uint8


def test_device_scale_factor_is_recorded_and_points_stay_in_css_pixels() -> None:
    env = gymnasium.make("KimiBrowser-v0", width=320, height=240, device_scale_factor=2.0).unwrapped
    env.reset(options={"url": PAGE})
    assert env.last_screenshot.size == (640, 480) and env.frame.scale == 2.0
    result = env.perform(Click(at=Point(x=0.5, y=0.5, space="relative")))
    assert result.chain.physical == (320, 240) and result.chain.screen == (160, 120)
    env.close()


def test_invalid_actions_never_raise(browser) -> None:
    _, _, _, _, info = browser.step('{"type": "teleport"}')
    assert not info["result"].ok and "teleport" in info["result"].error


def test_vector_of_browser_envs() -> None:
    def make():
        return gymnasium.make("KimiBrowser-v0", width=320, height=240)

    envs = gymnasium.vector.AsyncVectorEnv([make, make], shared_memory=False)
    try:
        obs, _ = envs.reset(options={"url": PAGE})
        assert obs["screenshot"].shape == (2, 240, 320, 3)
        click = json.dumps({"type": "click", "at": {"x": 0.5, "y": 0.5, "space": "relative"}})
        _, rewards, terminated, _, info = envs.step((click, "not json"))
        assert list(terminated) == [False, False]
        assert [r.ok for r in info["result"]] == [True, False]
    finally:
        envs.close()


@pytest.mark.desktop
def test_kimi_desktop_v0_is_a_managed_desktop_that_passes_check_env() -> None:
    # its own process: the env sets DISPLAY, and pyautogui binds one display per process
    code = ("import gymnasium, environments; from gymnasium.utils.env_checker import check_env; "
            "env = gymnasium.make('KimiXvfb-v0', width=640, height=480); check_env(env.unwrapped); env.close(); print('ok')")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr
