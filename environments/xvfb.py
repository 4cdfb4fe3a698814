"""`XvfbEnv`: a `DesktopEnv` on its own managed virtual desktop."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any, Sequence

from actions.executors.local import rebind_display
from environments.desktop import DesktopEnv
from environments.tasks.machine import LocalMachine
from environments.virtual_desktop import DesktopStartError, VirtualDesktop

WINDOW_TIMEOUT = 15.0


class XvfbEnv(DesktopEnv):
    """Starts Xvfb + openbox on a free display, optionally launches apps, and stops it all on close().

    pyautogui binds to one display per process, so this sets DISPLAY for the whole process:
    run one such environment per process at a time (the evaluation workers do). A new one made
    after the last is closed (a worker rebuilding after its display died) moves pyautogui over.
    """

    def __init__(
        self,
        width: int = 1280,
        height: int = 800,
        launch: Sequence[Sequence[str]] = (),
        **kwargs: Any,
    ) -> None:
        self.desktop = VirtualDesktop(width, height).start()
        self._saved_env = {k: os.environ.get(k) for k in ("DISPLAY", "XAUTHORITY")}
        try:
            os.environ.update(DISPLAY=self.desktop.display, XAUTHORITY=self.desktop.env["XAUTHORITY"])
            rebind_display(self.desktop.display)
            for argv in launch:
                self.desktop.launch(argv)
            _wait_for_windows(self.desktop, len(launch))
            # Nobody can reach a private display's pointer: a corner there is the model's own click.
            super().__init__(**{"fail_safe": False, **kwargs})
        except BaseException:
            self.desktop.stop()
            self._restore_environ()
            raise

    def _task_machine(self, home: Path, cache: Path) -> LocalMachine:
        return LocalMachine(home, cache, (self.desktop.width, self.desktop.height), display_env=self.desktop.env)

    def _lost_cause(self) -> str | None:
        xvfb = self.desktop.server
        if xvfb is not None and xvfb.poll() is not None:
            return f"its Xvfb (pid {xvfb.pid}) exited with status {xvfb.returncode}"
        return None

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.desktop.stop()
            self._restore_environ()

    def _restore_environ(self) -> None:
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _wait_for_windows(desktop: VirtualDesktop, count: int) -> None:
    """Wait until the window manager lists `count` windows (the launched apps are up)."""
    if count == 0:
        return
    deadline = time.monotonic() + WINDOW_TIMEOUT
    while time.monotonic() < deadline:
        listed = subprocess.run(["wmctrl", "-l"], env=desktop.env, capture_output=True, text=True)
        if len(listed.stdout.splitlines()) >= count:
            return
        time.sleep(0.05)
    raise DesktopStartError(f"the launched programs did not open {count} window(s) within {WINDOW_TIMEOUT} s")
