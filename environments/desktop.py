"""`DesktopEnv`: a Gymnasium environment on an X display, acting with pyautogui."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np

from actions.executors.local import PyAutoGUIExecutor
from actions.models import Action
from environments.activity import ActivityUnavailable, DesktopActivity
from environments.base import ExecutionResult, ScreenEnv, SettleInfo
from environments.screen import CaptureError, ScreenCapture, Screenshot
from environments.settle import SettleConfig, Settled, signature, wait_until_idle, wait_until_settled
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
        self.activity = _watch_display(settle)
        super().__init__(m.width, m.height, PyAutoGUIExecutor(fail_safe=fail_safe), render_mode)

    def _task_machine(self, home: Path, cache: Path) -> LocalMachine:
        m = self.capture.monitor
        return LocalMachine(home, cache, (m.width, m.height), display_env=dict(os.environ))

    def perform(self, action: Action | str) -> ExecutionResult:
        """As `ScreenEnv.perform`; an action that failed because the display is gone raises `DisplayLost`."""
        if self.activity is not None:
            try:
                self.activity.poll()  # what happened before the action is not its effect
            except Exception as err:  # see _check_display
                raise self._display_lost(err, "while watching the desktop") from err
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
        return self._settled(self.settle_config.max_seconds)

    def _settle_after_setup(self) -> Screenshot:
        """The first frame after a task's setup, once its applications are drawn (a longer cap:
        LibreOffice draws a document seconds after its window maps)."""
        return self._settled(self.settle_config.setup_max_seconds)[0]

    def _settled(self, max_seconds: float) -> tuple[Screenshot, SettleInfo, float]:
        try:
            settled = self._wait(max_seconds)
        except CaptureError:
            raise
        except Exception as err:  # see _check_display
            raise self._display_lost(err, "while waiting for the screen to settle") from err
        self._signature = settled.signature
        info = SettleInfo(seconds=settled.seconds, frames=settled.frames, stable=settled.stable,
                          changed=settled.changed)
        return settled.screenshot, info, settled.capture_seconds

    def _wait(self, max_seconds: float) -> Settled:
        if self.activity is not None:
            return wait_until_idle(self.capture, self.activity, self.settle_config, max_seconds,
                                   self.candidate_listener)
        config = self.settle_config
        if max_seconds != config.max_seconds:
            config = replace(config, max_seconds=max_seconds)
        return wait_until_settled(self.capture, self._signature, config)

    def close(self) -> None:
        activity, self.activity = self.activity, None
        try:
            if activity is not None:
                activity.close()
        except Exception:  # its connection to a display already gone fails to close too
            if self._lost is None:
                raise
        finally:
            self._close_capture()

    def _close_capture(self) -> None:
        try:
            self.capture.close()
        except Exception:
            # Closing the capture's connection to a display already known to be gone fails too.
            if self._lost is None:
                raise
        finally:
            super().close()


def _watch_display(config: SettleConfig) -> DesktopActivity | None:
    """The activity of DISPLAY's programs, or None (settling compares frames then) where it
    cannot be watched: a remote display, an X server without DAMAGE, or `config.watch` off."""
    if not config.watch:
        return None
    try:
        return DesktopActivity.open(os.environ.get("DISPLAY"), busy_share=config.busy_share)
    except ActivityUnavailable:
        return None
