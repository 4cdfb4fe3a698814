"""Replay logic with an in-process screen stand-in: matching, divergence, points, ranges, pacing."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from actions.coords import Frame, to_screen
from actions.models import Action, Click, Done, Point, Press, TypeText, Wait
from agent.backends.chat import Completion, Sampling
from agent.replay.reenact import (
    ReplayError, ReplayOptions, load_episode, replay, replayable_actions, selected_steps,
)
from agent.trajectory.store import (
    EpisodeInfo, ExecutionRecord, RequestRecord, StepRecord, TrajectoryWriter, read_trajectory,
)
from environments.base import ExecutionResult
from environments.screen import Monitor, Screenshot

ROOT = Path(__file__).resolve().parents[3]


def screen(label: int) -> Image.Image:
    """A distinct 640×400 screen per label: a white window at a label-dependent place."""
    image = Image.new("RGB", (640, 400), "black")
    ImageDraw.Draw(image).rectangle((label * 150, 50, label * 150 + 200, 300), fill="white")
    return image


class ScreenStandIn:
    """Shows `screens[n]` after n non-wait actions; `change_on_wait` advances on a Wait instead."""

    def __init__(self, screens: list[Image.Image], fail_on: type | None = None, change_on_wait: bool = False) -> None:
        self.screens, self.fail_on, self.change_on_wait = screens, fail_on, change_on_wait
        self.performed: list[Action] = []
        self.shown = 0

    @property
    def last_screenshot(self) -> Screenshot:
        image = self.screens[min(self.shown, len(self.screens) - 1)]
        return Screenshot(image, Monitor(1, 0, 0, *image.size), 0.0)

    def reset(self, *, seed=None, options=None):
        return {}, {}

    def perform(self, action: Action) -> ExecutionResult:
        if self.fail_on is not None and isinstance(action, self.fail_on):
            return ExecutionResult(ok=False, error="invalid action: no such thing")
        self.performed.append(action)
        if isinstance(action, Wait) == self.change_on_wait:
            self.shown += 1
        return ExecutionResult(ok=True, action=action, chain=to_screen(action, Frame.of_size(640, 400))[1])


def write_episode(folder: Path, steps: list[tuple[Image.Image, list[Action]]], frame: Frame | None = None,
                  gaps: float = 0.0, execution: ExecutionRecord | None = None) -> Path:
    writer = TrajectoryWriter(folder, EpisodeInfo(instruction="do it", model="m", env="xvfb", started_at=0.0))
    for index, (image, actions) in enumerate(steps):
        data = io.BytesIO()
        image.save(data, "JPEG", quality=95)
        name = writer.write_frame(index, data.getvalue(), "jpg")
        step_frame = frame or Frame.of_size(*image.size)
        writer.append(StepRecord(
            index=index, started_at=100.0 + gaps * index, ended_at=100.0 + gaps * index, screenshot=name, frame=step_frame,
            request=RequestRecord(model="m", messages=[], sampling=Sampling()), response=Completion(text=""),
            actions=actions, coordinates=[to_screen(a, step_frame)[1] for a in actions], execution=execution or ExecutionRecord(),
        ))
    writer.finish("done")
    return folder


CLICK = Click(at=Point(x=0.5, y=0.5, space="relative"))
TYPE = TypeText(text="hello")
THREE_STEPS = [(screen(0), [CLICK]), (screen(1), [TYPE, Press(keys=("enter",))]), (screen(2), [Done()])]


def test_matching_screens_replay_every_action_in_order(tmp_path: Path) -> None:
    env = ScreenStandIn([screen(0), screen(1), screen(1), screen(2)])
    report = replay(env, read_trajectory(write_episode(tmp_path, THREE_STEPS)), ReplayOptions(patience=0))
    assert env.performed == [CLICK, TYPE, Press(keys=("enter",)), Done()]
    assert [s.similarity.score for s in report.steps] == [1.0, 1.0, 1.0]
    assert report.exit_status == 0 and report.stopped_at is None


def test_a_diverged_step_stops_the_replay_before_its_actions(tmp_path: Path) -> None:
    env = ScreenStandIn([screen(0), screen(2)])
    report = replay(env, read_trajectory(write_episode(tmp_path, THREE_STEPS)), ReplayOptions(patience=0))
    assert env.performed == [CLICK]
    assert report.stopped_at == 2 and report.exit_status == 3
    assert report.steps[-1].diverged and report.steps[-1].performed == 0 and report.steps[-1].similarity.score < 0.9


def test_warn_goes_on_and_reports_the_diverged_steps(tmp_path: Path) -> None:
    env = ScreenStandIn([screen(0), screen(2)])
    report = replay(env, read_trajectory(write_episode(tmp_path, THREE_STEPS)), ReplayOptions(on_divergence="warn", patience=0))
    assert len(env.performed) == 4 and [s.number for s in report.diverged] == [2]
    assert report.exit_status == 1


def test_a_screen_that_catches_up_within_the_patience_is_not_a_divergence(tmp_path: Path) -> None:
    env = ScreenStandIn([screen(3), screen(0)], change_on_wait=True)
    report = replay(env, read_trajectory(write_episode(tmp_path, THREE_STEPS[:1])), ReplayOptions(patience=5))
    assert not report.diverged and env.performed[0] == Wait(seconds=0.1) and env.performed[-1] == CLICK


def test_image_points_become_fractions_of_the_recorded_image_and_others_stay(tmp_path: Path) -> None:
    model_frame = Frame(image_width=1288, image_height=812, physical_width=1280, physical_height=800)
    image_click = Click(at=Point(x=322, y=203, space="image"))
    screen_click = Click(at=Point(x=5, y=6, space="screen"))
    [step] = read_trajectory(write_episode(tmp_path, [(screen(0), [image_click, screen_click, CLICK])], frame=model_frame)).steps
    assert replayable_actions(step) == [Click(at=Point(x=0.25, y=0.25, space="relative")), screen_click, CLICK]


def test_a_step_that_failed_part_way_replays_only_what_was_performed(tmp_path: Path) -> None:
    folder = write_episode(tmp_path, [(screen(0), [CLICK, TYPE])], execution=ExecutionRecord(ok=False, error="x", executed=1))
    assert replayable_actions(read_trajectory(folder).steps[0]) == [CLICK]


def test_an_action_the_live_env_refuses_ends_the_replay_with_its_error(tmp_path: Path) -> None:
    env = ScreenStandIn([screen(0), screen(1)], fail_on=TypeText)
    report = replay(env, read_trajectory(write_episode(tmp_path, THREE_STEPS)), ReplayOptions(patience=0))
    assert report.failed.number == 2 and report.failed.performed == 0 and "no such thing" in report.failed.error
    assert report.exit_status == 1 and len(report.steps) == 2


def test_from_and_to_select_steps_one_based(tmp_path: Path) -> None:
    trajectory = read_trajectory(write_episode(tmp_path, THREE_STEPS))
    assert [s.index for s in selected_steps(trajectory, 2, 3)] == [1, 2]
    assert [s.index for s in selected_steps(trajectory, 3, None)] == [2]
    with pytest.raises(ReplayError, match="no steps 4..3"):
        selected_steps(trajectory, 4, None)


def test_speed_keeps_the_recorded_pace_through_env_waits(tmp_path: Path) -> None:
    trajectory = read_trajectory(write_episode(tmp_path, THREE_STEPS[:2], gaps=0.6))
    env = ScreenStandIn([screen(0), screen(1)])
    replay(env, trajectory, ReplayOptions(speed=2.0, patience=0))
    [wait] = [a for a in env.performed if isinstance(a, Wait)]
    assert 0.2 < wait.seconds <= 0.3
    unpaced = ScreenStandIn([screen(0), screen(1)])
    replay(unpaced, trajectory, ReplayOptions(patience=0))
    assert not any(isinstance(a, Wait) for a in unpaced.performed)


def test_an_episode_is_found_in_its_folder_or_a_record_folder_holding_one(tmp_path: Path) -> None:
    episode = write_episode(tmp_path / "rec" / "20260101-task", THREE_STEPS)
    assert load_episode(episode).folder == episode
    assert load_episode(tmp_path / "rec").folder == episode
    write_episode(tmp_path / "rec" / "20260102-task", THREE_STEPS)
    with pytest.raises(ReplayError, match="2 episode folders"):
        load_episode(tmp_path / "rec")
    with pytest.raises(ReplayError, match="no episode"):
        load_episode(tmp_path / "empty")


def test_dry_run_prints_the_actions_without_a_display(tmp_path: Path) -> None:
    folder = write_episode(tmp_path / "ep", THREE_STEPS)
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    done = subprocess.run([sys.executable, "-m", "agent.cli.replay", "replay", str(folder), "--dry-run", "--from", "2"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "replaying 2 step(s)" in done.stdout
    assert "step 2: type 'hello', press enter" in done.stdout and "step 3: done" in done.stdout
    missing = subprocess.run([sys.executable, "-m", "agent.cli.replay", "replay", str(tmp_path / "nothing")],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert missing.returncode == 2 and "no episode" in missing.stdout
