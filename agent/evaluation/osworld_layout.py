"""A task's result also written in OSWorld's own layout, so the reference harness's result scripts read ours.

    OUT/<action_space>/<observation>/<model>/[<trial>/]<domain>/<id>/
        traj.jsonl                 one line per executed action: step_num, action_timestamp, action
                                   (pyautogui source, or DONE/FAIL), response, reward, done, info,
                                   screenshot_file
        step_<n>_<timestamp>.png   the screen after step n (n from 1); the timestamp in their main
                                   branch's format, %Y%m%d@%H%M%S%f
        recording.mp4              the episode's frames, one a second with the actions drawn on them
                                   (where OSWorld records the VM's screen; needs PyAV, the video extra)
        result.txt                 the score: only for a scored task

As their runner does, a task with no score (errored, unsupported, interrupted) gets no result.txt,
so their script leaves it out of its mean (ours keeps it in: see the README), and their resume
reruns it. The model name is used as the folder name as given (a `/` in it nests, as with their
`--model`). Our episodes keep frames, not a continuous screen recording, so the video is made of them.

One difference: their runner captures the screen after each action of a reply, ours once after all of a
step's actions (the agent observes once per step). A step with several actions therefore has one PNG, which
each of its lines names; a reply with one action, Kimi-VL's usual, comes out exactly as theirs. Their result
scripts read only `result.txt`.

WindowsAgentArena's layout is the same with a trial folder (`--trial_id`, 0 by default) above the
domains, and <id> is the task's file name (`Task.key`), as its index lists it.
"""

from __future__ import annotations

import io
import json
import shutil
from datetime import datetime
from pathlib import Path

from PIL import Image

from actions.coords import PointChain, with_point
from actions.executors.remote import to_pyautogui
from actions.models import Action, Done, Fail, Point
from agent.evaluation.results import TaskResult
from agent.trajectory.store import Trajectory, TrajectoryReadError, read_trajectory
from agent.view.video import VideoUnavailable, write_mp4

ACTION_SPACE, OBSERVATION = "pyautogui", "screenshot"
WAA_TRIAL = "0"
"""The trial folder WAA's runner and result script use unless told another (`--trial_id`)."""
TIMESTAMP = "%Y%m%d@%H%M%S%f"
"""`action_timestamp` as OSWorld's main branch writes it (older releases: without the microseconds)."""


def osworld_folder(out: Path, model: str, domain: str, task_id: str, trial: str | None = None) -> Path:
    """The task's folder: OSWorld's, or WAA's with a `trial` folder."""
    base = out / ACTION_SPACE / OBSERVATION / model
    return (base if trial is None else base / trial) / (domain or "default") / task_id


def write_osworld_task(out: Path, model: str, result: TaskResult, trajectory_folder: Path,
                       trial: str | None = None) -> Path:
    """Write (or rewrite) one task's OSWorld-layout folder (WAA's with `trial`) from our trajectory
    and result; returns it."""
    folder = osworld_folder(out, model, result.domain, result.task_id, trial)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    try:
        trajectory: Trajectory | None = read_trajectory(trajectory_folder)
    except (OSError, TrajectoryReadError, ValueError):
        trajectory = None
    lines = []
    if trajectory is not None:
        steps = trajectory.steps
        for number, step in enumerate(steps, 1):
            stamp = datetime.fromtimestamp(step.ended_at).strftime(TIMESTAMP)
            shot = f"step_{number}_{stamp}.png"
            after = (trajectory.frame_path(steps[number]) if number < len(steps)
                     else trajectory.final_frame_path() or trajectory.frame_path(step))
            _save_png(after, folder / shot)
            last = number == len(steps)
            for code in _codes(step.actions, step.coordinates) or ["WAIT"]:
                lines.append({
                    "step_num": number, "action_timestamp": stamp, "action": code,
                    "response": step.response.text,
                    "reward": 0, "done": last and trajectory.info.outcome in ("done", "fail"), "info": {},
                    "screenshot_file": shot,
                })
    (folder / "traj.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    if trajectory is not None and trajectory.steps:
        try:
            write_mp4(trajectory, folder / "recording.mp4")
        except (VideoUnavailable, ValueError):
            pass  # no PyAV, or no frame recorded: the folder is complete without a video, as OSWorld's can be
    if result.status == "scored":
        (folder / "result.txt").write_text(f"{result.score}\n", encoding="utf-8")
    return folder


def _codes(actions: list[Action], chains: list[PointChain | None]) -> list[str]:
    """Each action as the reference harness logs it: pyautogui source in screen pixels, DONE or FAIL."""
    codes = []
    for index, action in enumerate(actions):
        if isinstance(action, Done | Fail):
            codes.append("DONE" if isinstance(action, Done) else "FAIL")
            continue
        chain = chains[index] if index < len(chains) else None
        if chain is not None:
            action = with_point(action, Point(x=chain.screen[0], y=chain.screen[1], space="screen"))
        try:
            codes.append(to_pyautogui(action))
        except ValueError:  # a point that never reached screen space: the step did not run it
            continue
    return codes


def _save_png(source: Path, target: Path) -> None:
    with Image.open(source) as image:
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")
    target.write_bytes(buffer.getvalue())
