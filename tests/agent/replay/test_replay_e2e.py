"""`replay` and `record` end to end on real Xvfb desktops with a real xterm.

An episode recorded by `kimi-agent run` (answered by the SCRIPTED stand-in model server, no
model) and a demonstration recorded from synthetic xdotool input are each replayed on a
FRESH desktop, and the file the episode wrote must appear again; a replay against a changed
screen must stop at its first step and say why.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from actions.models import Click, Drag, Hotkey, MoveTo, Press, Scroll, TypeText
from agent.trajectory.store import read_trajectory
from environments.virtual_desktop import VirtualDesktop
from tests.agent.replay.conftest import ROOT, XTERM, replay_cli, start_xterm
from tests.e2e.conftest import ScriptedServer

pytestmark = pytest.mark.desktop
LISTING = ("-e", "bash", "-c", "ls -la /usr/bin | head -30; exec bash")


def reply(intent: str, code: str) -> str:
    return f"◁think▷Looking at the screen.◁/think▷## Action:\n{intent}\n\n## Code:\n```python\n{code}\n```"


@pytest.fixture(scope="module")
def agent_episode(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(episode folder, its terminal's working directory) of a real `kimi-agent run` that wrote note.txt."""
    tmp = tmp_path_factory.mktemp("agent")
    workdir = tmp / "work"
    workdir.mkdir()
    server = ScriptedServer([
        reply("Focus the terminal.", "pyautogui.click(x=0.15, y=0.15)"),
        reply("Write the note.", "pyautogui.write(\"echo 'saved by kimi' > note.txt\")\npyautogui.press('enter')"),
        reply("Done.", 'computer.terminate(status="success", answer="written")'),
    ], tmp)
    try:
        with VirtualDesktop(1280, 800) as desktop:
            start_xterm(desktop, workdir)
            run = subprocess.run(
                [sys.executable, "-m", "agent", "run", "--env", "desktop", "--base-url", server.base_url, "--model", "replay",
                 "--record", str(tmp / "rec"), "--max-steps", "5", "write the note"],
                env=desktop.env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120, check=False,
            )
    finally:
        server.stop()
    assert run.returncode == 0, run.stdout
    assert (workdir / "note.txt").read_text().strip() == "saved by kimi"
    (workdir / "note.txt").unlink()
    return tmp / "rec", workdir


def test_an_agent_episode_replays_on_a_fresh_desktop_with_the_same_effect(agent_episode, fresh_desktop) -> None:
    record, workdir = agent_episode
    start_xterm(fresh_desktop, workdir)
    done = replay_cli(fresh_desktop, "replay", str(record))
    assert done.returncode == 0, done.stdout
    assert (workdir / "note.txt").read_text().strip() == "saved by kimi"
    assert "replayed 3 step(s); no divergence" in done.out
    scores = [float(s) for s in re.findall(r"step \d: similarity (\d\.\d+)", done.out)]
    assert len(scores) == 3 and min(scores) >= 0.97
    (workdir / "note.txt").unlink()


def test_a_changed_screen_stops_the_replay_at_its_first_step(agent_episode, fresh_desktop) -> None:
    record, workdir = agent_episode
    start_xterm(fresh_desktop, workdir, *LISTING)
    done = replay_cli(fresh_desktop, "replay", str(record), "--patience", "0.3")
    assert done.returncode == 3, done.stdout
    found = re.search(r"diverged at step 1: similarity (\d\.\d+) < 0\.970; stopped", done.out)
    assert found and float(found.group(1)) < 0.97, done.out
    assert re.search(r"step 1: similarity \d\.\d+ \(\d+/\d+ blocks differ, threshold 0\.970\) DIVERGED", done.out)
    assert "similarity" in done.out and "changed blocks" in done.out  # the table
    assert not (workdir / "note.txt").exists()


def test_warn_reports_divergences_and_goes_on(agent_episode, fresh_desktop) -> None:
    record, workdir = agent_episode
    start_xterm(fresh_desktop, workdir, *LISTING)
    done = replay_cli(fresh_desktop, "replay", str(record), "--on-divergence", "warn", "--patience", "0")
    assert done.returncode == 1, done.stdout
    assert "replayed 3 step(s); diverged at step(s) 1" in done.out
    assert (workdir / "note.txt").read_text().strip() == "saved by kimi"
    (workdir / "note.txt").unlink()


def xdotool(desktop: VirtualDesktop, *args: str) -> None:
    """One input gesture, then a pause like a person's (the screen settles before the next)."""
    subprocess.run(["xdotool", *args], env=desktop.env, check=True, timeout=30)
    time.sleep(0.3)


def record_demonstration(desktop: VirtualDesktop, folder: Path) -> str:
    recorder = subprocess.Popen(
        [sys.executable, "-m", "agent.cli.replay", "record", str(folder), "--max-seconds", "60"],
        env=desktop.env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        lines = []
        while not (lines and lines[-1].startswith("recording on")):
            lines.append(recorder.stdout.readline())
            assert lines[-1], "".join(lines)
        xdotool(desktop, "mousemove", "200", "150")
        xdotool(desktop, "click", "1")
        xdotool(desktop, "type", "--delay", "20", "echo demo > demo.txt")
        xdotool(desktop, "key", "Return")
        xdotool(desktop, "key", "ctrl+l")
        xdotool(desktop, "mousemove", "30", "28")
        xdotool(desktop, "click", "--repeat", "2", "--delay", "80", "1")
        xdotool(desktop, "mousemove", "10", "28")
        xdotool(desktop, "mousedown", "1")
        xdotool(desktop, "mousemove", "200", "29")
        xdotool(desktop, "mouseup", "1")
        xdotool(desktop, "click", "--repeat", "3", "--delay", "50", "5")
        xdotool(desktop, "key", "ctrl+alt+q")
        out, _ = recorder.communicate(timeout=30)
    finally:
        if recorder.poll() is None:
            recorder.kill()
            recorder.communicate()
    assert recorder.returncode == 0, "".join(lines) + out
    return out


def near(point, x: int, y: int) -> bool:
    return point.space == "screen" and abs(point.x - x) <= 2 and abs(point.y - y) <= 2


def test_a_demonstration_from_xdotool_input_records_typed_actions_and_replays_to_the_same_effect(tmp_path: Path) -> None:
    workdir = tmp_path / "work"
    workdir.mkdir()
    folder = tmp_path / "demo"
    with VirtualDesktop(1280, 800) as desktop:
        start_xterm(desktop, workdir)
        out = record_demonstration(desktop, folder)
    assert (workdir / "demo.txt").read_text() == "demo\n"
    assert "recorded 7 step(s) (done)" in " ".join(out.split()), out

    trajectory = read_trajectory(folder)
    actions = [step.actions for step in trajectory.steps]
    assert [[a.type for a in step] for step in actions] == [
        ["click"], ["type"], ["press"], ["hotkey"], ["click"], ["move", "drag"], ["scroll"],
    ]
    click, typed, enter, clear, double, (move, drag), scroll = [step if len(step) == 2 else step[0] for step in actions]
    assert isinstance(click, Click) and near(click.at, 200, 150) and click.clicks == 1
    assert typed == TypeText(text="echo demo > demo.txt")
    assert enter == Press(keys=("enter",)) and clear == Hotkey(keys=("ctrl", "l"))
    assert isinstance(double, Click) and near(double.at, 30, 28) and double.clicks == 2
    assert isinstance(move, MoveTo) and near(move.at, 10, 28) and isinstance(drag, Drag) and near(drag.to, 200, 29)
    assert isinstance(scroll, Scroll) and scroll.dy == -3 and near(scroll.at, 200, 29)
    assert trajectory.steps[0].intent == "recorded: click at (200, 150)" and trajectory.steps[0].response.text == ""
    assert trajectory.info.outcome == "done" and trajectory.steps[1].frame.physical_width == 1280
    assert all(trajectory.frame_path(step).read_bytes()[:3] == b"\xff\xd8\xff" for step in trajectory.steps)

    (workdir / "demo.txt").unlink()
    done = subprocess.run(  # a fresh managed desktop whose xterm starts in the same folder
        [sys.executable, "-m", "agent.cli.replay", "replay", str(folder), "--env", "xvfb", "--launch", " ".join(XTERM)],
        cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stdout
    assert "replayed 7 step(s); no divergence" in " ".join(done.stdout.split())
    assert (workdir / "demo.txt").read_text() == "demo\n"
