"""`ScreenEnv`: the Gymnasium environment shape every screen-based env shares.

Observation: `{"screenshot": H×W×3 uint8, "instruction": str}`. Action: a typed action, or
its JSON. Points in `relative`/`image` space refer to the env's own screenshot. Invalid
actions never raise: they come back in `info["result"].error` with the screen unchanged.
Subclasses say how to capture, how to act, and how to wait for the screen to settle.

Tasks: `reset(options=TaskOptions(task=...))` (or the same fields as a dict) runs the task's
setup on a fresh machine (its programs and files) and makes its instruction the observation's;
when an episode ends with done or fail `step` returns the evaluator's score as the reward and in
`info["score"]`. The env counts no steps: a step limit is a wrapper (`environments.budget`),
which scores the task when it truncates; the agent loop has its own budget.
"""

from __future__ import annotations

import string
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from actions.coords import Frame, PointChain, point_of, to_screen
from actions.errors import ActionError, CoordinateError, first_error
from actions.executors.base import Executor
from actions.models import Action, Point, action_adapter
from environments.screen import Screenshot, frame_for
from environments.tasks.explanation import ScoreExplanation
from environments.tasks.machine import Machine
from environments.tasks.model import Task
from environments.tasks.rules import RULES, RulesName
from environments.tasks.session import TaskSession, as_task

MAX_INSTRUCTION = 4096
MAX_ACTION_JSON = 16384


class TaskOptions(BaseModel):
    """What `reset` takes: an instruction, or a task (its setup runs and its instruction is used)."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)
    instruction: str | None = None
    """Overrides the task's instruction when both are given."""
    task: Task | Path | None = None
    workdir: Path | None = None
    """Keep the task's files (home, cache) there instead of a temporary folder."""
    offline: bool = False
    """Never download: every file a task fetches must be in the cache."""
    url: str | None = None
    """The page a browser env opens (without a task; a task opens its own tabs)."""
    rules: RulesName = "osworld"
    """Whose failure rules the task's setup and scoring follow (environments/tasks/rules.py)."""


def task_options(options: TaskOptions | dict[str, Any] | None) -> TaskOptions:
    """`reset`'s options as the typed model (Gymnasium callers may pass the same fields as a dict)."""
    return options if isinstance(options, TaskOptions) else TaskOptions.model_validate(options or {})


class EnvTimings(BaseModel):
    model_config = ConfigDict(frozen=True)
    execute: float = 0.0
    settle: float = 0.0
    capture: float = 0.0


class SettleInfo(BaseModel):
    model_config = ConfigDict(frozen=True)
    seconds: float
    frames: int
    stable: bool
    changed: bool


class ExecutionResult(BaseModel):
    """What happened to one action: performed or why not, its point chain, and timings."""

    model_config = ConfigDict(frozen=True)
    ok: bool
    error: str | None = None
    action: Action | None = None
    chain: PointChain | None = None
    timings: EnvTimings = EnvTimings()
    settle: SettleInfo | None = None


class ScreenEnv(gym.Env):
    metadata = {"render_modes": ["rgb_array"], "render_fps": 4}

    def __init__(self, width: int, height: int, executor: Executor, render_mode: str | None) -> None:
        self.executor = executor
        self.render_mode = render_mode
        self.observation_space = gym.spaces.Dict(
            screenshot=gym.spaces.Box(0, 255, (height, width, 3), np.uint8),
            instruction=gym.spaces.Text(min_length=0, max_length=MAX_INSTRUCTION, charset=string.printable),
        )
        self.action_space = gym.spaces.Text(min_length=0, max_length=MAX_ACTION_JSON, charset=string.printable)
        self.instruction = ""
        self._shot: Screenshot | None = None
        self.task_session: TaskSession | None = None
        self.candidate_listener: Callable[[Screenshot], None] | None = None
        """Told of each frame the screen will probably settle on, while settling still waits
        (the agent encodes it meanwhile); the settled frame, if it is that one, is the same object."""

    def _task_machine(self, home: Path, cache: Path) -> Machine:
        """The machine a task's setup and getters act on (this env's display, or its browser)."""
        raise NotImplementedError

    def _initial_frame(self) -> Screenshot:
        """Capture the screen as it is now (at reset)."""
        raise NotImplementedError

    def _settle(self) -> tuple[Screenshot, SettleInfo, float]:
        """Wait for the screen to settle after an action: the frame, how, and one capture's cost."""
        raise NotImplementedError

    def _settle_after_setup(self) -> Screenshot:
        """The first observation after a task's setup: the screen once its applications are drawn.
        As after an action unless an env knows its apps need longer (a desktop's LibreOffice)."""
        return self._settle()[0]

    def listen_for_candidates(self, listener: Callable[[Screenshot], None] | None) -> None:
        """Set (or, with None, clear) `candidate_listener`."""
        self.candidate_listener = listener

    @property
    def last_screenshot(self) -> Screenshot:
        """The most recent (settled) frame; capturing again is never needed after a step."""
        if self._shot is None:
            raise RuntimeError("call reset() first")
        return self._shot

    @property
    def frame(self) -> Frame:
        """Coordinate frame of the last screenshot, as captured."""
        return frame_for(self.last_screenshot)

    def reset(
        self, *, seed: int | None = None, options: TaskOptions | dict[str, Any] | None = None,
    ) -> tuple[dict, dict]:
        super().reset(seed=seed)
        typed = task_options(options)
        self._end_task()
        instruction = typed.instruction or ""
        if typed.task is not None:
            self._start_task(typed)
            instruction = typed.instruction or self.task_session.task.instruction
        self.instruction = instruction[:MAX_INSTRUCTION]
        started = time.perf_counter()
        self._shot = self._initial_frame()
        if self.task_session is not None:
            self._shot = self._settle_after_setup()
        result = ExecutionResult(ok=True, timings=EnvTimings(capture=time.perf_counter() - started))
        return self._observation(), {"result": result}

    def perform(self, action: Action | str) -> ExecutionResult:
        """Validate, resolve, execute and settle one action (the agent loop's fast path).

        A point in `relative` or `image` space is resolved once, against the last screenshot.
        A point already in `screen` space (the loop's actions, resolved by the policy against
        the frame the model saw) is performed exactly as given: resolving it again against a
        later frame could move it, and the chain recorded would not be the chain executed.
        """
        try:
            typed = action_adapter().validate_json(action) if isinstance(action, str) else action
            screen_action, chain = self._resolved(typed)
        except (ValidationError, ActionError, ValueError) as err:
            return ExecutionResult(ok=False, error=f"invalid action: {first_error(err)}")
        started = time.perf_counter()
        try:
            self.executor.execute(screen_action)
        except ActionError as err:
            return ExecutionResult(ok=False, error=str(err), action=typed, chain=chain)
        executed = time.perf_counter() - started
        self._shot, settle, capture_seconds = self._settle()
        return ExecutionResult(
            ok=True, action=typed, chain=chain, settle=settle,
            timings=EnvTimings(execute=executed, settle=settle.seconds, capture=capture_seconds),
        )

    def _resolved(self, action: Action) -> tuple[Action, PointChain | None]:
        point = point_of(action)
        if point is None:
            return action, None
        if point.space == "screen":
            _check_on_screen(point, self.frame)
            return action, None
        return to_screen(action, self.frame)

    def _start_task(self, options: TaskOptions) -> None:
        session = TaskSession(as_task(options.task), self._task_machine, options.workdir, offline=options.offline,
                              rules=RULES[options.rules])
        try:
            session.setup()
        except BaseException:
            session.close()
            raise
        self.task_session = session

    def _end_task(self) -> None:
        if self.task_session is not None:
            session, self.task_session = self.task_session, None
            session.close()

    def evaluate(self, last_action_failed: bool) -> float:
        """The current task's score for an episode whose last action was (or was not) FAIL."""
        return self.explain_score(last_action_failed).score

    def explain_score(self, last_action_failed: bool) -> ScoreExplanation:
        """The current task's score with each metric's part in it and what its getters returned."""
        if self.task_session is None:
            raise RuntimeError("no task: reset(options={'task': ...}) first")
        return self.task_session.evaluate(last_action_failed)

    def step(self, action: Action | str) -> tuple[dict, float, bool, bool, dict]:
        result = self.perform(action)
        terminated = result.ok and result.action is not None and result.action.type in ("done", "fail")
        info: dict[str, Any] = {"result": result}
        reward = 0.0
        if terminated and self.task_session is not None:
            reward = info["score"] = self.evaluate(last_action_failed=result.action.type == "fail")
        return self._observation(), reward, terminated, False, info

    def close(self) -> None:
        self._end_task()
        super().close()

    def render(self) -> np.ndarray | None:
        return self.last_screenshot.pixels.copy() if self.render_mode == "rgb_array" else None

    def _observation(self) -> dict[str, Any]:
        # A fresh array per observation: callers may keep and mutate observations.
        return {"screenshot": np.array(self.last_screenshot.image), "instruction": self.instruction}


def _check_on_screen(point: Point, frame: Frame) -> None:
    """Refuse a `screen` point off this env's screen; it is checked, never moved."""
    x, y = point.x - frame.offset_x, point.y - frame.offset_y
    if not (0 <= x < frame.logical_width and 0 <= y < frame.logical_height):
        raise CoordinateError(
            f"the screen point ({point.x:g}, {point.y:g}) is off the screen "
            f"({frame.logical_width}x{frame.logical_height} points at {frame.offset_x},{frame.offset_y})"
        )
