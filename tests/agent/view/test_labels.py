"""The viewer's labels: a killed run is 'killed', not 'running' forever; stand-in replies are named as the
stand-in's; the screen after the last action is shown."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from agent.trajectory.liveness import episode_status
from agent.trajectory.store import EPISODE_FILE, EpisodeInfo, Trajectory, read_trajectory
from agent.view import render_html
from tests.agent.conftest import ROOT


def _page(trajectory: Trajectory, tmp_path: Path) -> str:
    return render_html(trajectory, tmp_path / "page.html").read_text(encoding="utf-8")


def test_a_run_killed_mid_episode_reads_as_killed_not_running(tmp_path: Path) -> None:
    writer = subprocess.Popen([sys.executable, "-m", "tests.agent.trajectory.write_forever", str(tmp_path)],
                              cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        folder = Path(writer.stdout.readline().strip())
        deadline = time.monotonic() + 30
        while len(read_trajectory(folder).steps) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        live = read_trajectory(folder)
        assert live.info.outcome == "running" and live.info.writer.pid == writer.pid
        assert episode_status(live.info).label == "running"
        assert 'outcome-running' in _page(live, tmp_path)
    finally:
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait(timeout=10)
        writer.stdout.close()
    killed = read_trajectory(folder)
    assert killed.info.outcome == "running"  # nothing could record the end ...
    status = episode_status(killed.info)
    assert (status.state, status.label) == ("killed", "killed")  # ... but the viewer knows
    page = _page(killed, tmp_path)
    assert "outcome-killed" in page and f"pid {writer.pid}" in page and ">running<" not in page


def test_an_unfinished_episode_from_an_older_writer_is_not_called_running(tmp_path: Path) -> None:
    info = EpisodeInfo(instruction="old", model="m", env="xvfb", started_at=time.time())
    added_later = {"writer", "setup", "stand_in", "final_frame", "vnc"}
    (tmp_path / EPISODE_FILE).write_text(info.model_dump_json(exclude=added_later))
    old = read_trajectory(tmp_path)
    assert old.info.writer is None
    assert episode_status(old.info).label == "unfinished"
    assert "outcome-unfinished" in _page(old, tmp_path / "out")


def test_stand_in_replies_are_labelled_as_such(recorded: dict[str, Trajectory], tmp_path: Path) -> None:
    trajectory = recorded["instruct"]  # --model moonshotai/Kimi-VL-A3B-Instruct, answered by the stand-in
    assert trajectory.info.stand_in == "scripted stand-in server (replay)"
    assert all(step.response.stand_in == trajectory.info.stand_in for step in trajectory.steps)
    page = _page(trajectory, tmp_path)
    assert "replies from" in page and "scripted stand-in server (replay): no model" in page
    assert "<dt>model</dt><dd>moonshotai/Kimi-VL-A3B-Instruct</dd>" not in page
    label = "Raw reply from the stand-in (scripted stand-in server (replay))"
    assert page.count(label) == len(trajectory.steps)


def test_the_screen_after_the_last_action_is_shown(recorded: dict[str, Trajectory], tmp_path: Path) -> None:
    trajectory = recorded["thinking"]
    final = trajectory.final_frame_path()
    assert final is not None and final.name == "final.jpg" and final.stat().st_size > 1000
    assert final.stat().st_mtime >= trajectory.frame_path(trajectory.steps[-1]).stat().st_mtime
    page = _page(trajectory, tmp_path)
    assert 'id="final"' in page and "After the last step" in page
