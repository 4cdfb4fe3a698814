"""`DesktopEnv`: a Gymnasium environment on an X display, acting with pyautogui."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from actions.executors.local import PyAutoGUIExecutor
from environments.base import ScreenEnv, SettleInfo
from environments.screen import ScreenCapture, Screenshot
from environments.settle import SettleConfig, signature, wait_until_settled
from environments.tasks.machine import LocalMachine


class DesktopEnv(ScreenEnv):
    """The X display named by DISPLAY (or one monitor of it); see `ScreenEnv` for the API."""

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
        self.settle_config = settle
        self._signature: np.ndarray | None = None
        m = self.capture.monitor
        super().__init__(m.width, m.height, PyAutoGUIExecutor(fail_safe=fail_safe), max_steps, render_mode)

    def _task_machine(self, home: Path, cache: Path) -> LocalMachine:
        m = self.capture.monitor
        return LocalMachine(home, cache, (m.width, m.height), display_env=dict(os.environ))

    def _initial_frame(self) -> Screenshot:
        raw = self.capture.grab()
        self._signature = signature(raw, self.settle_config.sample_stride)
        return self.capture.to_screenshot(raw)

    def _settle(self) -> tuple[Screenshot, SettleInfo, float]:
        settled = wait_until_settled(self.capture, self._signature, self.settle_config)
        self._signature = settled.signature
        info = SettleInfo(seconds=settled.seconds, frames=settled.frames, stable=settled.stable, changed=settled.changed)
        return settled.screenshot, info, settled.capture_seconds

    def close(self) -> None:
        self.capture.close()
        super().close()
