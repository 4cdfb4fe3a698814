"""The loop with an in-process environment stand-in: budgets, retries, Ctrl+C, errors."""

from __future__ import annotations

import time
from pathlib import Path

from PIL import Image

from actions.models import Action
from agent.backends.base import BackendUnavailable
from agent.backends.chat import Sampling
from agent.backends.scripted import ScriptedBackend
from agent.episode.loop import INTERRUPTED, Budget, run_episode
from agent.episode.policy import KimiPolicy, PolicyConfig
from agent.episode.run import make_perception
from agent.trajectory.store import EpisodeInfo, TrajectoryWriter, read_trajectory
from environments.base import EnvTimings, ExecutionResult
from environments.screen import Monitor, Screenshot


class ScriptedEnv:
    """Records the actions it is given; shows a plain 640×400 screen."""

    def __init__(self, interrupt_at: int | None = None, slow: float = 0.0) -> None:
        self.performed: list[Action] = []
        self.interrupt_at = interrupt_at
        self.slow = slow
        self._shot = Screenshot(Image.new("RGB", (640, 400), "white"), Monitor(1, 0, 0, 640, 400), 0.0)

    @property
    def last_screenshot(self) -> Screenshot:
        return self._shot

    def reset(self, *, seed=None, options=None):
        return {}, {"result": ExecutionResult(ok=True, timings=EnvTimings(capture=0.001))}

    def perform(self, action: Action) -> ExecutionResult:
        if self.interrupt_at is not None and len(self.performed) == self.interrupt_at:
            raise KeyboardInterrupt
        time.sleep(self.slow)
        self.performed.append(action)
        return ExecutionResult(ok=True, action=action, timings=EnvTimings(execute=0.001, settle=0.002, capture=0.001))


def reply(code: str) -> str:
    return f"◁think▷t◁/think▷## Action:\nact\n## Code:\n```python\n{code}\n```"


def run(tmp_path: Path, replies: list[str], env: ScriptedEnv | None = None, budget: Budget = Budget(10), backend=None):
    env = env or ScriptedEnv()
    policy = KimiPolicy(backend or ScriptedBackend(replies), PolicyConfig("m", "thinking", Sampling(), 16384), "do it")
    writer = TrajectoryWriter.create(tmp_path, EpisodeInfo(instruction="do it", model="m", env="fake", started_at=0.0))
    result = run_episode(env, policy, make_perception("jpeg", True, 16384), writer, budget)
    return result, env, read_trajectory(writer.folder)


def test_done_ends_the_episode_with_the_answer(tmp_path: Path) -> None:
    result, env, trajectory = run(tmp_path, [reply("pyautogui.click(0.5, 0.5)"), reply("computer.terminate(status='success', answer='ok')")])
    assert (result.outcome, result.answer) == ("done", "ok")
    assert env.performed[0].at.space == "screen" and (env.performed[0].at.x, env.performed[0].at.y) == (320, 200)
    assert trajectory.info.outcome == "done" and len(trajectory.steps) == 2
    # 640x400 is sent as 644x392 (multiples of 28) and mapped back onto the screen
    assert (trajectory.steps[0].frame.image_width, trajectory.steps[0].frame.image_height) == (644, 392) and trajectory.steps[0].coordinates[0].screen == (320, 200)


def test_fail_is_recorded_with_its_reason(tmp_path: Path) -> None:
    result, _, _ = run(tmp_path, [reply("computer.terminate(status='failure', answer='no file')")])
    assert (result.outcome, result.answer) == ("fail", "no file")


def test_max_steps_budget(tmp_path: Path) -> None:
    result, env, _ = run(tmp_path, [reply("pyautogui.press('a')")] * 5, budget=Budget(max_steps=3))
    assert result.outcome == "max_steps" and len(env.performed) == 3


def test_wall_clock_budget(tmp_path: Path) -> None:
    result, env, _ = run(tmp_path, [reply("pyautogui.press('a')")] * 50, env=ScriptedEnv(slow=0.05), budget=Budget(50, max_seconds=0.2))
    assert result.outcome == "timeout" and 2 <= len(env.performed) < 10


def test_replies_that_cannot_be_used_are_retried_then_end_the_episode(tmp_path: Path) -> None:
    bad = [reply("import os"), reply("pyautogui.click(5000, 5000)"), "◁think▷cut off"]
    result, env, trajectory = run(tmp_path, bad)
    assert result.outcome == "error" and "cut off" in result.error
    assert env.performed == []
    step = trajectory.steps[0]
    assert [a.error.split(" ")[0] for a in step.attempts] == ["line", "x=5000"]
    assert step.error and "cut off" in step.error


def test_ctrl_c_while_acting_finishes_the_step_record(tmp_path: Path) -> None:
    replies = [reply("pyautogui.press('a')\npyautogui.press('b')")] * 3
    result, env, trajectory = run(tmp_path, replies, env=ScriptedEnv(interrupt_at=3))
    assert result.outcome == "interrupted"
    assert len(trajectory.steps) == 2 and trajectory.info.outcome == "interrupted"
    last = trajectory.steps[-1]
    assert last.execution.error == INTERRUPTED and last.execution.executed == 1


def test_an_unreachable_backend_ends_the_episode_as_an_error(tmp_path: Path) -> None:
    class Down:
        def complete(self, messages, sampling):
            raise BackendUnavailable("cannot reach it")

    result, _, trajectory = run(tmp_path, [], backend=Down())
    assert result.outcome == "error" and "cannot reach it" in result.error
    assert trajectory.info.outcome == "error"


def test_an_environment_that_dies_mid_action_ends_the_episode_with_the_cause(tmp_path: Path) -> None:
    class DyingEnv(ScriptedEnv):
        def perform(self, action: Action) -> ExecutionResult:
            if self.performed:
                raise ConnectionResetError("the display went away")
            return super().perform(action)

    replies = [reply("pyautogui.press('a')")] * 3
    result, env, trajectory = run(tmp_path, replies, env=DyingEnv())
    assert result.outcome == "error"
    assert result.error == "environment: ConnectionResetError: the display went away"
    assert len(trajectory.steps) == 2 and trajectory.info.outcome == "error"
    assert trajectory.info.error == result.error
    last = trajectory.steps[-1]
    assert last.actions and last.execution.ok is False and last.error == result.error


def test_a_failed_reset_is_recorded_and_raised(tmp_path: Path) -> None:
    class BrokenReset(ScriptedEnv):
        def reset(self, *, seed=None, options=None):
            raise RuntimeError("setup step failed")

    policy = KimiPolicy(ScriptedBackend([]), PolicyConfig("m", "thinking", Sampling(), 16384), "do it")
    writer = TrajectoryWriter.create(tmp_path, EpisodeInfo(instruction="do it", model="m", env="fake", started_at=0.0))
    try:
        run_episode(BrokenReset(), policy, make_perception("jpeg", True, 16384), writer, Budget(3))
    except RuntimeError:
        pass
    else:
        raise AssertionError("reset's error was swallowed")
    info = read_trajectory(writer.folder).info
    assert info.outcome == "error" and info.error == "environment: RuntimeError: setup step failed"
