"""DesktopEnv on a real Xvfb display: capture, every action kind for real, settling, Gymnasium API."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from actions import Click, Done, Drag, Hotkey, MoveTo, Point, Press, Scroll, TypeText
from environments.budget import ScoredTimeLimit
from environments.desktop import DesktopEnv
from environments.settle import SettleConfig

pytestmark = pytest.mark.desktop


def pointer(desktop) -> tuple[int, int]:
    out = subprocess.run(["xdotool", "getmouselocation", "--shell"], env=desktop.env, capture_output=True, text=True).stdout
    values = dict(line.split("=") for line in out.split())
    return int(values["X"]), int(values["Y"])


def wait_for(path: Path, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return path.read_text().strip()
        time.sleep(0.05)
    raise AssertionError(f"{path} was not written")


@pytest.fixture
def env(x_display):
    environment = DesktopEnv()
    environment.reset(options={"instruction": "test"})
    yield environment
    environment.close()


@pytest.fixture
def terminal(x_display, tmp_path: Path):
    proc = x_display.launch(["xterm", "-geometry", "80x24+0+0", "-title", "env-term"], cwd=tmp_path)
    x_display.wait_for_window("env-term")
    yield tmp_path
    proc.kill()
    proc.wait()


def test_capture_shows_a_window_where_the_window_manager_put_it(x_display, env) -> None:
    proc = x_display.launch(["xterm", "-bg", "red", "-geometry", "40x10+300+200", "-title", "red-term"])
    window = x_display.wait_for_window("red-term")
    geometry = subprocess.run(["xdotool", "getwindowgeometry", "--shell", window], env=x_display.env, capture_output=True, text=True).stdout
    g = dict(line.split("=") for line in geometry.split())
    x, y, w, h = (int(g[k]) for k in ("X", "Y", "WIDTH", "HEIGHT"))
    result = env.perform(MoveTo(at=Point(x=5, y=5, space="screen")))
    shot = env.last_screenshot
    assert result.ok and shot.size == (1280, 800)
    pixels = shot.pixels
    inside = pixels[y + h // 2, x + w - 10]
    assert tuple(inside) == (255, 0, 0)
    assert tuple(pixels[5, 1275]) != (255, 0, 0)
    proc.kill()
    proc.wait()


def test_click_moves_the_real_pointer_to_the_resolved_point(x_display, env) -> None:
    result = env.perform(Click(at=Point(x=0.25, y=0.5, space="relative")))
    assert result.ok and result.chain.screen == (320, 400)
    assert pointer(x_display) == (320, 400)
    env.perform(MoveTo(at=Point(x=700, y=100, space="image")))
    assert pointer(x_display) == (700, 100)


def test_typing_pressing_and_hotkeys_reach_a_terminal(env, terminal: Path) -> None:
    env.perform(Click(at=Point(x=100, y=100, space="screen")))
    env.perform(TypeText(text="echo typed > typed.txt"))
    env.perform(Press(keys=("enter",)))
    assert wait_for(terminal / "typed.txt") == "typed"
    env.perform(TypeText(text="sleep 30; echo late > late.txt"))
    env.perform(Press(keys=("enter",)))
    env.perform(Hotkey(keys=("ctrl", "c")))
    env.perform(TypeText(text="echo after-interrupt > hot.txt\n"))
    assert wait_for(terminal / "hot.txt") == "after-interrupt"
    assert not (terminal / "late.txt").exists()


def test_repeated_keys_are_split_so_toolkits_do_not_read_them_as_auto_repeat() -> None:
    from actions.executors.local import runs_without_repeats

    assert runs_without_repeats(list("See  all")) == [["S", "e"], ["e", " "], [" ", "a", "l"], ["l"]]
    assert runs_without_repeats(["down", "down", "right"]) == [["down"], ["down", "right"]]
    assert runs_without_repeats([]) == []


def test_repeated_letters_and_presses_all_arrive(env, terminal: Path) -> None:
    env.perform(Click(at=Point(x=100, y=100, space="screen")))
    env.perform(TypeText(text="echo 'bookkeeper  aaa' > rep.txt"))
    env.perform(Press(keys=("left", "left", "end", "enter")))
    assert wait_for(terminal / "rep.txt") == "bookkeeper  aaa"


def test_every_printable_ascii_character_is_typed_as_itself(env, terminal: Path) -> None:
    """pyautogui alone types '<' as '>' on X (the reference harness sends shift+comma for it)."""
    text = "".join(chr(c) for c in range(33, 127) if chr(c) not in "'")
    env.perform(Click(at=Point(x=100, y=100, space="screen")))
    env.perform(TypeText(text=f"printf '%s' '{text}' > ascii.txt\n"))
    assert wait_for(terminal / "ascii.txt") == text


def test_non_ascii_text_is_typed(env, terminal: Path) -> None:
    env.perform(Click(at=Point(x=100, y=100, space="screen")))
    env.perform(TypeText(text="printf '%s' 'naïve ✓' > utf.txt\n"))
    assert wait_for(terminal / "utf.txt") == "naïve ✓"


def test_drag_and_scroll_run_without_error(env) -> None:
    env.perform(MoveTo(at=Point(x=600, y=600, space="screen")))
    assert env.perform(Drag(to=Point(x=0.6, y=0.6, space="relative"))).ok
    assert env.perform(Scroll(dy=-3, at=Point(x=0.5, y=0.5, space="relative"))).ok
    assert env.perform(Scroll(dx=2)).ok


def test_invalid_actions_come_back_as_errors(env) -> None:
    before = env.last_screenshot
    for bad in ("not json", '{"type": "bogus"}', '{"type": "click", "at": {"x": 9000, "y": 1, "space": "image"}}'):
        obs, reward, terminated, truncated, info = env.step(bad)
        assert info["result"].ok is False and info["result"].error.startswith("invalid action")
        assert not terminated and reward == 0.0
    assert env.last_screenshot is before


def test_done_terminates_and_max_steps_truncates(x_display) -> None:
    environment = ScoredTimeLimit(DesktopEnv(), 2)
    environment.reset()
    _, _, terminated, truncated, _ = environment.step(MoveTo(at=Point(x=1, y=1, space="screen")))
    assert not terminated and not truncated
    _, _, terminated, truncated, _ = environment.step(Done().model_dump_json())
    assert terminated and truncated
    environment.close()


def test_observations_never_share_buffers(env) -> None:
    first, _ = env.reset()
    second, _ = env.reset()
    assert not np.shares_memory(first["screenshot"], second["screenshot"])
    assert first["screenshot"].dtype == np.uint8 and first["screenshot"].shape == (800, 1280, 3)


def test_passes_gymnasium_env_checker(x_display) -> None:
    """As registered: a real desktop is nondeterministic (other windows of the shared display may
    change between two seeded steps), so the checker skips only its step-determinism check."""
    environment = gymnasium.make("KimiCurrentDisplay-v0", settle=SettleConfig(max_seconds=0.5)).unwrapped
    assert environment.spec is not None and environment.spec.nondeterministic
    check_env(environment, skip_render_check=True)
    environment.close()


def test_settling_ends_soon_after_the_screen_stops_changing(env, x_display, tmp_path: Path) -> None:
    """A terminal prints a counter for ~0.8 s, then notes the time it stopped: settling must
    outlast the printing and end within 0.5 s of it (issue #21's bound for any one action; its
    median of ≤ 150 ms is measured by `benchmarks.settle`: on a loaded machine settling waits
    longer, and a fresh-clone run of the whole suite once ended past 150 ms here)."""
    stopped_file = tmp_path / "stopped"
    script = f"for i in $(seq 1 40); do echo $i; sleep 0.02; done; date +%s.%N > {stopped_file}; sleep 30"
    proc = x_display.launch(["xterm", "-geometry", "40x10+600+100", "-title", "busy", "-e", "bash", "-c", script])
    x_display.wait_for_window("busy")
    result = env.perform(MoveTo(at=Point(x=2, y=2, space="screen")))
    ended = time.time()
    stopped = float(wait_for(stopped_file))
    assert result.settle.stable and result.settle.changed
    assert stopped - 0.05 < ended < stopped + 0.5, ended - stopped
    proc.kill()
    proc.wait()


def test_settling_is_capped_on_a_screen_that_never_settles(x_display) -> None:
    proc = x_display.launch(["xterm", "-geometry", "40x10+600+400", "-title", "spinner", "-e",
                             "bash", "-c", "while true; do date +%N; sleep 0.01; done"])
    x_display.wait_for_window("spinner")
    environment = DesktopEnv(settle=SettleConfig(max_seconds=0.6))
    environment.reset()
    result = environment.perform(MoveTo(at=Point(x=3, y=3, space="screen")))
    assert not result.settle.stable
    assert 0.55 < result.settle.seconds < 0.8
    environment.close()
    proc.kill()
    proc.wait()
