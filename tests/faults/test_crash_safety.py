"""Crash safety of results: `kimi-agent run` and `kimi-agent eval` SIGKILLed at seeded random
points. Every trajectory reads back to its last finished step with its frames; every finished
task's score survives; a rerun completes the rest with the scores of an uninterrupted run.

The seed is printed; rerun one with KIMI_AGENT_FAULT_SEED=<seed>.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import pytest

from agent.trajectory.store import read_trajectory
from environments.tasks.suite import SOLUTIONS, SUITE
from environments.virtual_desktop import VirtualDesktop
from tests.faults.conftest import ROOT, reply

KILLS = 10
TASKS = {"chrome": ["book-tomorrow", "open-pricing-page", "scroll-to-contact"]}
"""Three browser tasks: an uninterrupted eval takes a few seconds, so the kill points are cheap."""


def seeded() -> random.Random:
    seed = int(os.environ.get("KIMI_AGENT_FAULT_SEED") or time.time_ns() % 2**32)
    print(f"kill points seeded with KIMI_AGENT_FAULT_SEED={seed}")
    return random.Random(seed)


def kill_group(process: subprocess.Popen) -> None:
    """SIGKILL the process and everything in its group (a browser included); wait until all are gone."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    raise AssertionError(f"processes of group {process.pid} outlived SIGKILL")


@pytest.mark.desktop
def test_run_killed_at_random_points_reads_back_to_its_last_finished_step(model_server, tmp_path: Path) -> None:
    rng = seeded()
    server = model_server(None, "--always", reply("Move.", "pyautogui.moveTo(0.5, 0.5)"))
    recorded = 0
    with VirtualDesktop(640, 480) as desktop:

        def run(record: Path, out: IO[str], max_steps: int) -> subprocess.Popen:
            return subprocess.Popen(
                [sys.executable, "-m", "agent", "run", "--env", "desktop", "--base-url", server.base_url,
                 "--model", "replay", "--record", str(record), "--max-steps", str(max_steps), "--max-repeats", "0",
                 "--max-unchanged", "0", "move"],  # the guards would stop a run that only moves
                env={**desktop.env, "PYTHONUNBUFFERED": "1"}, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )

        # The kill points span the start-up and a few steps as long as they take on this machine now
        # (a loaded machine starts a run in 3-5 s, an idle one in ~1.5 s): measured by a probe run.
        started = time.monotonic()
        probe = run(tmp_path / "probe", subprocess.PIPE, 3)
        first_step = next((time.monotonic() - started for line in probe.stdout if line.startswith(b"step 1 ")), None)
        probe.communicate()
        assert first_step is not None, "the probe run recorded no step"
        span = first_step + 2.0
        print(f"first step after {first_step:.1f} s: kill points from 0.2 to {span:.1f} s")
        for point in range(KILLS):
            record, output = tmp_path / f"rec{point}", tmp_path / f"out{point}.txt"
            with open(output, "w") as out:
                process = run(record, out, 1000)
                time.sleep(rng.uniform(0.2, span))
                kill_group(process)
            printed = re.findall(r"^step (\d+) ", output.read_text(), re.MULTILINE)
            folders = list(record.iterdir()) if record.exists() else []
            assert len(folders) <= 1
            if not folders:
                assert not printed
                continue
            trajectory = read_trajectory(folders[0])
            assert trajectory.torn_lines <= 1  # at most the line being written when the kill came
            assert [s.index for s in trajectory.steps] == list(range(len(trajectory.steps)))
            assert len(trajectory.steps) >= (int(printed[-1]) if printed else 0), "a step reported done was lost"
            for step in trajectory.steps:
                frame = trajectory.frame_path(step).read_bytes()
                assert frame[:3] == b"\xff\xd8\xff" and frame[-2:] == b"\xff\xd9"  # a whole JPEG
            recorded += len(trajectory.steps)
    assert recorded > 0, "no run lived long enough to record a step: the kill points prove nothing"


def eval_command(base_url: str, results: Path, index: Path) -> list[str]:
    return [sys.executable, "-m", "agent", "eval", "--base-url", base_url, "--model", "replay", "--results",
            str(results), "--tasks", str(index), "--examples", str(SUITE / "examples")]


def scores(results: Path) -> dict[str, tuple[float, int]]:
    """task id → (score, result.txt's mtime); a result.txt that is not a number fails the test."""
    return {f.parent.name: (float(f.read_text()), f.stat().st_mtime_ns) for f in results.glob("*/*/result.txt")}


@pytest.mark.browser
def test_eval_killed_at_random_points_keeps_every_finished_score_and_resumes(model_server, tmp_path: Path) -> None:
    rng = seeded()
    server = model_server(None, "--solutions", str(SOLUTIONS))
    index = tmp_path / "tasks.json"
    index.write_text(json.dumps(TASKS))
    started = time.monotonic()
    reference = subprocess.run(eval_command(server.base_url, tmp_path / "reference", index), cwd=ROOT, check=False,
                               capture_output=True, text=True, timeout=300)
    uninterrupted = time.monotonic() - started
    print(f"uninterrupted eval: {uninterrupted:.1f} s")
    assert reference.returncode == 0, reference.stdout + reference.stderr
    expected = {task: score for task, (score, _) in scores(tmp_path / "reference").items()}
    assert set(expected) == set(TASKS["chrome"])
    mid_suite = 0  # kills that left some tasks finished and some not: the case resume is for
    groups, span = KILLS // 2, uninterrupted + 0.3
    for group in range(groups):  # a fresh results folder per pair of kills, so kills land at every stage of a suite
        results = tmp_path / f"r{group}"
        kept: dict[str, tuple[float, int]] = {}
        for kill in range(2):
            process = subprocess.Popen(eval_command(server.base_url, results, index), cwd=ROOT, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL, start_new_session=True)
            # The first kill of each pair lands in its own fifth of an uninterrupted run, so every stage is hit.
            time.sleep(0.2 + (group + rng.random()) * span / groups if kill == 0 else rng.uniform(0.2, span))
            kill_group(process)
            now = scores(results)
            assert all(now[task] == value for task, value in kept.items()), "a finished score was lost or rewritten"
            assert all(score == expected[task] for task, (score, _) in now.items())
            if (results / "summary.json").exists():  # written atomically: whole JSON or absent
                summary = json.loads((results / "summary.json").read_text())
                for task in summary["tasks"]:
                    if task["status"] == "scored":
                        assert now[task["task_id"]][0] == task["score"]  # what the summary counts is on disk
            kept = now
            mid_suite += 0 < len(now) < len(expected)
        done = subprocess.run(eval_command(server.base_url, results, index), cwd=ROOT, capture_output=True, text=True,
                              timeout=300, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        final = scores(results)
        assert {task: score for task, (score, _) in final.items()} == expected
        assert all(final[task] == value for task, value in kept.items())  # resume redid only the rest
        summary = json.loads((results / "summary.json").read_text())
        assert (summary["scheduled"], summary["scored"], summary["errored"]) == (len(expected), len(expected), 0)
    print(f"kills that landed mid-suite: {mid_suite}")
    assert mid_suite > 0, "no kill left a partly finished suite: the resume case was never exercised"
