"""Trajectories: every field round-trips, and a writer killed at any instant leaves a readable folder."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from agent.trajectory.store import EpisodeInfo, TrajectoryWriter, read_trajectory
from tests.agent.trajectory.write_forever import record

ROOT = Path(__file__).resolve().parents[3]


def test_steps_round_trip(tmp_path: Path) -> None:
    writer = TrajectoryWriter.create(tmp_path, EpisodeInfo(instruction="Save a note!", model="m", env="xvfb", started_at=0.0))
    assert writer.folder.name.endswith("save-a-note")
    for i in range(3):
        writer.append(record(i, writer.write_frame(i, b"png", "png")))
    writer.finish("done", answer="ok")
    back = read_trajectory(writer.folder)
    assert [s.index for s in back.steps] == [0, 1, 2]
    assert back.steps[1] == record(1, "frames/0001.png").model_copy(
        update={"started_at": back.steps[1].started_at, "ended_at": back.steps[1].ended_at}
    )
    assert back.info.outcome == "done" and back.info.answer == "ok" and back.info.steps == 3
    assert back.frame_path(back.steps[2]).read_bytes() == b"png"
    assert back.steps[0].coordinates[0].screen == (160, 240)


def test_a_second_episode_with_the_same_name_gets_its_own_folder(tmp_path: Path) -> None:
    info = EpisodeInfo(instruction="same", model="m", env="xvfb", started_at=0.0)
    assert TrajectoryWriter.create(tmp_path, info).folder != TrajectoryWriter.create(tmp_path, info).folder


def test_killed_writer_leaves_a_readable_folder(tmp_path: Path) -> None:
    rng = random.Random(7)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for attempt in range(20):
        root = tmp_path / str(attempt)
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.agent.trajectory.write_forever", str(root)],
            stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env,
        )
        folder = Path(proc.stdout.readline().strip())
        time.sleep(rng.uniform(0.0, 0.3))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        back = read_trajectory(folder)
        assert back.torn_lines <= 1
        assert [s.index for s in back.steps] == list(range(len(back.steps)))
        for step in back.steps:
            assert back.frame_path(step).stat().st_size > 0
        assert back.info.outcome == "running"
