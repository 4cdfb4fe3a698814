"""`ScreenEnv`: the Gymnasium environment shape every screen-based env shares.

Observation: `{"screenshot": H×W×3 uint8, "instruction": str}`. Action: a typed action, or
its JSON. Points in `relative`/`image` space refer to the env's own screenshot. Invalid
actions never raise: they come back in `info["result"].error` with the screen unchanged.
Subclasses say how to capture, how to act, and how to wait for the screen to settle.

Tasks: `reset(options={"task": task_or_path})` runs the task's setup on a fresh machine (its
programs and files) and makes its instruction the observation's; when an episode ends (done,
fail, or `max_steps`) `step` returns the evaluator's score as the reward and in
`info["score"]`. Further options: `workdir` (keep the task's files there), `offline`.
"""

from __future__ import annotations

import string
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from actions.coords import Frame, PointChain, to_screen
from actions.errors import ActionError
from actions.executors.base import Executor
from actions.models import Action
from environments.screen import Screenshot, frame_for
from environments.tasks.machine import LocalMachine
from environments.tasks.session import TaskSession, as_task

MAX_INSTRUCTION = 4096
MAX_ACTION_JSON = 16384
ACTION = TypeAdapter(Action)


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

    def __init__(self, width: int, height: int, executor: Executor, max_steps: int | None, render_mode: str | None) -> None:
        self.executor = executor
        self.max_steps = max_steps
        self.render_mode = render_mode
        self.observation_space = gym.spaces.Dict(
            screenshot=gym.spaces.Box(0, 255, (height, width, 3), np.uint8),
            instruction=gym.spaces.Text(min_length=0, max_length=MAX_INSTRUCTION, charset=string.printable),
        )
        self.action_space = gym.spaces.Text(min_length=0, max_length=MAX_ACTION_JSON, charset=string.printable)
        self.instruction = ""
        self._steps = 0
        self._shot: Screenshot | None = None
        self.task_session: TaskSession | None = None

    def _task_machine(self, home: Path, cache: Path) -> LocalMachine:
        """The machine a task's setup and getters act on (this env's display, or its browser)."""
        raise NotImplementedError

    def _initial_frame(self) -> Screenshot:
        """Capture the screen as it is now (at reset)."""
        raise NotImplementedError

    def _settle(self) -> tuple[Screenshot, SettleInfo, float]:
        """Wait for the screen to settle after an action: the frame, how, and one capture's cost."""
        raise NotImplementedError

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

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[dict, dict]:
        super().reset(seed=seed)
        options = options or {}
        self._end_task()
        instruction = options.get("instruction", "")
        if options.get("task") is not None:
            self._start_task(options)
            instruction = options.get("instruction") or self.task_session.task.instruction
        self.instruction = str(instruction)[:MAX_INSTRUCTION]
        self._steps = 0
        started = time.perf_counter()
        self._shot = self._initial_frame()
        if self.task_session is not None:
            self._shot = self._settle()[0]
        result = ExecutionResult(ok=True, timings=EnvTimings(capture=time.perf_counter() - started))
        return self._observation(), {"result": result}

    def perform(self, action: Action | str) -> ExecutionResult:
        """Validate, resolve, execute and settle one action (the agent loop's fast path)."""
        try:
            typed = ACTION.validate_json(action) if isinstance(action, str) else action
            screen_action, chain = to_screen(typed, self.frame)
        except (ValidationError, ActionError, ValueError) as err:
            return ExecutionResult(ok=False, error=f"invalid action: {_first_line(err)}")
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

    def _start_task(self, options: dict[str, Any]) -> None:
        workdir = options.get("workdir")
        session = TaskSession(
            as_task(options["task"]), self._task_machine, Path(workdir) if workdir else None,
            offline=bool(options.get("offline", False)),
        )
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
        if self.task_session is None:
            raise RuntimeError("no task: reset(options={'task': ...}) first")
        return self.task_session.evaluate(last_action_failed)

    def step(self, action: Action | str) -> tuple[dict, float, bool, bool, dict]:
        result = self.perform(action)
        self._steps += 1
        terminated = result.ok and result.action is not None and result.action.type in ("done", "fail")
        truncated = self.max_steps is not None and self._steps >= self.max_steps
        info: dict[str, Any] = {"result": result}
        reward = 0.0
        if (terminated or truncated) and self.task_session is not None:
            reward = info["score"] = self.evaluate(last_action_failed=terminated and result.action.type == "fail")
        return self._observation(), reward, terminated, truncated, info

    def close(self) -> None:
        self._end_task()
        super().close()

    def render(self) -> np.ndarray | None:
        return self.last_screenshot.pixels.copy() if self.render_mode == "rgb_array" else None

    def _observation(self) -> dict[str, Any]:
        # A fresh array per observation: callers may keep and mutate observations.
        return {"screenshot": np.array(self.last_screenshot.image), "instruction": self.instruction}


def _first_line(err: Exception) -> str:
    if isinstance(err, ValidationError):
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return f"{where}: {first['msg']}" if where else str(first["msg"])
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
