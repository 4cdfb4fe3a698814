"""`DesktopEnv`: a Gymnasium environment on an X display, acting with pyautogui."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from actions.executors.local import PyAutoGUIExecutor
from actions.models import Action
from environments.base import ExecutionResult, ScreenEnv, SettleInfo
from environments.screen import CaptureError, ScreenCapture, Screenshot
from environments.settle import SettleConfig, signature, wait_until_settled
from environments.tasks.machine import LocalMachine


class DisplayLost(RuntimeError):
    """The X display stopped answering (its server died or the connection broke): the episode
    cannot go on; a new environment (a new display) is needed."""


class DesktopEnv(ScreenEnv):
    """The X display named by DISPLAY (or one monitor of it); see `ScreenEnv` for the API."""

    def __init__(
        self,
        monitor: int = 1,
        scale: float = 1.0,
        settle: SettleConfig = SettleConfig(),
        fail_safe: bool = True,
        render_mode: str | None = None,
    ) -> None:
        self.capture = ScreenCapture(monitor, scale)
        self.settle_config = settle
        self._signature: np.ndarray | None = None
        self._lost: DisplayLost | None = None
        m = self.capture.monitor
        super().__init__(m.width, m.height, PyAutoGUIExecutor(fail_safe=fail_safe), render_mode)

    def _task_machine(self, home: Path, cache: Path) -> LocalMachine:
        m = self.capture.monitor
        return LocalMachine(home, cache, (m.width, m.height), display_env=dict(os.environ))

    def perform(self, action: Action | str) -> ExecutionResult:
        """As `ScreenEnv.perform`; an action that failed because the display is gone raises `DisplayLost`."""
        result = super().perform(action)
        if not result.ok and result.action is not None:  # the executor failed: was it the display?
            self._check_display(f"the {result.action.type} action failed: {result.error}")
        return result

    def _check_display(self, context: str) -> None:
        try:
            self.capture.grab()
        except CaptureError:
            raise  # already says what is wrong (no such monitor, cannot open the display)
        except Exception as err:  # mss and Xlib raise many types (even AssertionError) on a dead connection
            raise self._display_lost(err, context) from err

    def _display_lost(self, err: Exception, context: str = "") -> DisplayLost:
        cause = self._lost_cause() or f"{type(err).__name__}: {err}".rstrip(": ")
        self._lost = DisplayLost(f"the X display {os.environ.get('DISPLAY', '')} is gone ({cause})"
                                 + (f"; {context}" if context else ""))
        return self._lost

    def _lost_cause(self) -> str | None:
        """Why the display went away, if this env knows (a managed one knows its server's fate)."""
        return None

    def _initial_frame(self) -> Screenshot:
        try:
            raw = self.capture.grab()
        except CaptureError:
            raise
        except Exception as err:  # see _check_display
            raise self._display_lost(err, "while capturing the first frame") from err
        self._signature = signature(raw, self.settle_config.sample_stride)
        return self.capture.to_screenshot(raw)

    def _settle(self) -> tuple[Screenshot, SettleInfo, float]:
        try:
            settled = wait_until_settled(self.capture, self._signature, self.settle_config)
        except CaptureError:
            raise
        except Exception as err:  # see _check_display
            raise self._display_lost(err, "while waiting for the screen to settle") from err
        self._signature = settled.signature
        info = SettleInfo(seconds=settled.seconds, frames=settled.frames, stable=settled.stable, changed=settled.changed)
        return settled.screenshot, info, settled.capture_seconds

    def close(self) -> None:
        try:
            self.capture.close()
        except Exception:
            # Closing the capture's connection to a display already known to be gone fails too.
            if self._lost is None:
                raise
        finally:
            super().close()
