"""Points are resolved once, by the policy against the frame the model saw: the chain recorded is the chain executed."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from PIL import Image

from actions.coords import to_screen
from actions.models import Action, Click, Point
from agent.backends.chat import Completion, Message, Sampling
from agent.backends.scripted import ScriptedBackend
from agent.episode.loop import Budget, run_episode
from agent.episode.policy import KimiPolicy, PolicyConfig
from agent.episode.run import make_perception
from agent.trajectory.store import EpisodeInfo, TrajectoryWriter, read_trajectory
from environments.base import ScreenEnv, SettleInfo
from environments.screen import Monitor, Screenshot

HIDPI = Monitor(1, 0, 0, 800, 500, 1.25)
"""125 %: 800×500 pixels are 640×400 logical points, where a second resolution loses a point."""
PLAIN = Monitor(1, 0, 0, 640, 400)


class RecordingExecutor:
    def __init__(self) -> None:
        self.received: list[Action] = []

    def execute(self, action: Action) -> None:
        self.received.append(action)


class GeometryEnv(ScreenEnv):
    """A blank screen on `monitor`; the test may change the monitor at any time."""

    def __init__(self, monitor: Monitor) -> None:
        self.recorder = RecordingExecutor()
        self.monitor = monitor
        super().__init__(monitor.width, monitor.height, self.recorder, None)

    def _initial_frame(self) -> Screenshot:
        return Screenshot(Image.new("RGB", (self.monitor.width, self.monitor.height), "white"), self.monitor, 0.0)

    def _settle(self) -> tuple[Screenshot, SettleInfo, float]:
        return self._initial_frame(), SettleInfo(seconds=0.0, frames=1, stable=True, changed=False), 0.0


def reply(code: str) -> str:
    return f"◁think▷t◁/think▷## Action:\nact\n## Code:\n```python\n{code}\n```"


def clicks(n: int) -> str:
    return "\n".join(f"pyautogui.click({(i + 0.5) / n:.4f}, {(i + 0.5) / n:.4f})" for i in range(n))


def run(tmp_path: Path, env: ScreenEnv, backend) -> list:
    policy = KimiPolicy(backend, PolicyConfig("m", "thinking", Sampling(), 16384), "click")
    writer = TrajectoryWriter.create(tmp_path, EpisodeInfo(instruction="click", model="m", env="fake", started_at=0.0))
    result = run_episode(env, policy, make_perception("jpeg", True, 16384), writer, Budget(2))
    assert result.outcome == "done", result.error
    return read_trajectory(writer.folder).steps


def screen_points(actions: list[Action]) -> list[tuple[float, float]]:
    return [(a.at.x, a.at.y) for a in actions if isinstance(a, Click) and a.at is not None]


def test_the_executor_receives_exactly_the_recorded_chain_at_125_percent(tmp_path: Path) -> None:
    env = GeometryEnv(HIDPI)
    steps = run(tmp_path, env, ScriptedBackend([reply(clicks(37)), reply("computer.terminate(status='success')")]))
    recorded = [c.screen for c in steps[0].coordinates]
    assert len(recorded) == 37
    assert screen_points(env.recorder.received) == recorded
    assert all(a.at.space == "screen" for a in env.recorder.received if isinstance(a, Click))
    # The test can fail: resolving the recorded screen points a second time moves some of them.
    again = [to_screen(Click(at=Point(x=x, y=y, space="screen")), env.frame)[1].screen for x, y in recorded]
    assert again != recorded


class ChangesTheScreenWhileThinking(ScriptedBackend):
    """The display's scale changes while the model answers (after the screenshot it is shown)."""

    def __init__(self, replies: list[str], env: GeometryEnv, monitor: Monitor) -> None:
        super().__init__(replies)
        self.env, self.monitor = env, monitor

    def complete(self, messages: Sequence[Message], sampling: Sampling) -> Completion:
        self.env.monitor = self.monitor
        self.env._shot = self.env._initial_frame()
        return super().complete(messages, sampling)


def test_a_frame_change_between_decide_and_perform_does_not_move_the_point(tmp_path: Path) -> None:
    env = GeometryEnv(PLAIN)
    backend = ChangesTheScreenWhileThinking([reply(clicks(37)), reply("computer.terminate(status='success')")], env, HIDPI)
    steps = run(tmp_path, env, backend)
    assert (steps[0].frame.physical_width, steps[0].frame.scale) == (640, 1.0)  # what the model saw
    recorded = [c.screen for c in steps[0].coordinates]
    assert screen_points(env.recorder.received) == recorded
    assert steps[0].execution.executed == 37


def test_a_gym_user_relative_point_is_resolved_once_by_the_env() -> None:
    env = GeometryEnv(HIDPI)
    env.reset()
    result = env.perform(Click(at=Point(x=0.5, y=0.5, space="relative")))
    assert result.ok and result.chain is not None
    assert screen_points(env.recorder.received) == [result.chain.screen] == [(320, 200)]


def test_a_screen_point_off_the_screen_is_refused_not_moved() -> None:
    env = GeometryEnv(HIDPI)
    env.reset()
    result = env.perform(Click(at=Point(x=640, y=10, space="screen")))
    assert not result.ok and result.error.startswith("invalid action") and "off the screen" in result.error
    assert env.recorder.received == []
    assert env.perform(Click(at=Point(x=639, y=399, space="screen"))).ok
    assert screen_points(env.recorder.received) == [(639, 399)]
