"""The README's replay of the demo's own recording: the environment is started as recorded, so it matches;
started otherwise, it diverges and the two frames are saved side by side, naming the step."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from agent.trajectory.store import read_trajectory
from tests.agent.replay.conftest import ROOT

pytestmark = pytest.mark.desktop


def _kimi_agent(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "agent", *args], cwd=cwd, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=180, check=False,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    done.out = " ".join(done.stdout.split())  # type: ignore[attr-defined]
    return done


@pytest.fixture(scope="module")
def demo_episode(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder `kimi-agent demo` recorded (no GPU here: the scripted stand-in answers)."""
    cwd = tmp_path_factory.mktemp("demo")
    demo = _kimi_agent(cwd, "demo")
    assert demo.returncode == 0, demo.stdout
    [episode] = list((cwd / "recordings").iterdir())
    return episode


def test_the_demo_recording_names_its_environment(demo_episode: Path) -> None:
    setup = read_trajectory(demo_episode).info.setup
    assert setup is not None and setup.kind == "xvfb" and setup.size == (1280, 800)
    assert setup.launch == [["xterm", "-geometry", "80x24+0+0", "-fa", "Monospace", "-fs", "11"]]


def test_the_readme_replay_of_the_demo_reproduces_it(demo_episode: Path) -> None:
    replay = _kimi_agent(demo_episode.parent.parent, "replay", f"recordings/{demo_episode.name}")
    assert replay.returncode == 0, replay.stdout
    xterm = "xterm -geometry 80x24+0+0 -fa Monospace -fs 11"
    assert f"as recorded: env xvfb; size 1280x800; launch {xterm}" in replay.out
    assert "replayed 4 step(s); no divergence" in replay.out


def test_a_replay_on_another_terminal_stops_and_saves_both_frames(demo_episode: Path, tmp_path: Path) -> None:
    replay = _kimi_agent(demo_episode.parent.parent, "replay", str(demo_episode), "--launch", "xterm",
                         "--evidence", str(tmp_path / "evidence"))
    assert replay.returncode == 3, replay.stdout
    assert "diverged at step 1" in replay.out
    picture = tmp_path / "evidence" / "diverged-step-001.png"
    assert f"step 1 diverged: recorded | live frames in {picture}" in replay.out
    with Image.open(picture) as image:
        assert image.width > 2 * 1200 and image.height > 800  # recorded | live, with a label strip
