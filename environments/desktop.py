"""`DesktopEnv`: a Gymnasium environment on an X display, acting with pyautogui."""

from __future__ import annotations

import string
import time
from typing import Any

import gymnasium as gym
import numpy as np
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from actions.coords import Frame, PointChain, to_screen
from actions.errors import ActionError
from actions.executors.local import PyAutoGUIExecutor
from actions.models import Action
from environments.screen import ScreenCapture, Screenshot, frame_for
from environments.settle import SettleConfig, signature, wait_until_settled

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

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)
    ok: bool
    error: str | None = None
    action: Action | None = None
    chain: PointChain | None = None
    timings: EnvTimings = EnvTimings()
    settle: SettleInfo | None = None


class DesktopEnv(gym.Env):
    """The X display named by DISPLAY (or a monitor of it).

    Observation: `{"screenshot": H×W×3 uint8, "instruction": str}`. Action: a typed action,
    or its JSON. Points in `relative`/`image` space refer to this env's screenshot. Invalid
    actions never raise: they come back in `info["result"].error` with the screen unchanged.
    """

    metadata = {"render_modes": ["rgb_array"]}

    def __init__(
        self,
        monitor: int = 1,
        scale: float = 1.0,
        settle: SettleConfig = SettleConfig(),
        max_steps: int | None = None,
        fail_safe: bool = True,
        render_mode: str | None = None,
    ) -> None:
        self.capture = ScreenCapture(monitor, scale)
        self.executor = PyAutoGUIExecutor(fail_safe=fail_safe)
        self.settle_config = settle
        self.max_steps = max_steps
        self.render_mode = render_mode
        m = self.capture.monitor
        self.observation_space = gym.spaces.Dict(
            screenshot=gym.spaces.Box(0, 255, (m.height, m.width, 3), np.uint8),
            instruction=gym.spaces.Text(min_length=0, max_length=MAX_INSTRUCTION, charset=string.printable),
        )
        self.action_space = gym.spaces.Text(min_length=0, max_length=MAX_ACTION_JSON, charset=string.printable)
        self.instruction = ""
        self._steps = 0
        self._shot: Screenshot | None = None
        self._signature: np.ndarray | None = None

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
        self.instruction = str((options or {}).get("instruction", ""))[:MAX_INSTRUCTION]
        self._steps = 0
        started = time.perf_counter()
        raw = self.capture.grab()
        self._shot = self.capture.to_screenshot(raw)
        self._signature = signature(raw, self.settle_config.sample_stride)
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
        settled = wait_until_settled(self.capture, self._signature, self.settle_config)
        self._shot, self._signature = settled.screenshot, settled.signature
        return ExecutionResult(
            ok=True, action=typed, chain=chain,
            timings=EnvTimings(execute=executed, settle=settled.seconds, capture=settled.capture_seconds),
            settle=SettleInfo(seconds=settled.seconds, frames=settled.frames, stable=settled.stable, changed=settled.changed),
        )

    def step(self, action: Action | str) -> tuple[dict, float, bool, bool, dict]:
        result = self.perform(action)
        self._steps += 1
        terminated = result.ok and result.action is not None and result.action.type in ("done", "fail")
        truncated = self.max_steps is not None and self._steps >= self.max_steps
        return self._observation(), 0.0, terminated, truncated, {"result": result}

    def render(self) -> np.ndarray | None:
        return self.last_screenshot.pixels.copy() if self.render_mode == "rgb_array" else None

    def close(self) -> None:
        self.capture.close()
        super().close()

    def _observation(self) -> dict[str, Any]:
        # A fresh array per observation: callers may keep and mutate observations.
        return {"screenshot": np.array(self.last_screenshot.image), "instruction": self.instruction}


def _first_line(err: Exception) -> str:
    if isinstance(err, ValidationError):
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return f"{where}: {first['msg']}" if where else str(first["msg"])
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
