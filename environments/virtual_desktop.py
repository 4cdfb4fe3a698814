"""A managed virtual desktop: its own Xvfb and window manager, every process stopped by id."""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Sequence

from environments.processes import stop_group
from environments.session_bus import SessionBus

START_TIMEOUT = 15.0

# A worker killed outright (SIGKILL, a dead Ray actor) runs no cleanup: util-linux's setpriv
# makes the kernel send the desktop's processes SIGTERM when their parent dies, so no
# orphaned Xvfb or app outlives it. (Processes started by a thread die when that thread ends:
# desktops are started from the thread that owns them, the main one in every executor.)
_DIE_WITH_PARENT: tuple[str, ...] = ("setpriv", "--pdeathsig", "TERM") if shutil.which("setpriv") else ()


class DesktopStartError(RuntimeError):
    """The virtual desktop did not come up; the message says which part failed."""


class VirtualDesktop:
    """Xvfb plus openbox (on a D-Bus session of its own) on a free display; a context manager.

    Every process it starts gets its own process group, so `stop()` ends it together with
    whatever it spawned (dbus helpers, terminals' shells).
    """

    def __init__(self, width: int = 1280, height: int = 800, depth: int = 24, window_manager: bool = True) -> None:
        self.width, self.height, self.depth = width, height, depth
        self.window_manager = window_manager
        self.display = ""
        self._processes: list[subprocess.Popen] = []
        self._bus: SessionBus | None = None
        # Xvfb runs without -auth, so any local client may connect; python-xlib still wants
        # an Xauthority file with an entry for the display (see start()).
        fd, self._xauthority = tempfile.mkstemp(prefix="kimi-agent-xauth-")
        os.close(fd)

    @property
    def env(self) -> dict[str, str]:
        """os.environ for programs on this desktop."""
        return {**os.environ, "DISPLAY": self.display, "XDG_SESSION_TYPE": "x11", "XAUTHORITY": self._xauthority}

    def start(self) -> VirtualDesktop:
        if self._processes:
            return self
        read_fd, write_fd = os.pipe()
        xvfb = subprocess.Popen(
            [*_DIE_WITH_PARENT, "Xvfb", "-displayfd", str(write_fd), "-screen", "0", f"{self.width}x{self.height}x{self.depth}",
             "-nolisten", "tcp", "-noreset", "+extension", "RANDR"],
            pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
        )
        os.close(write_fd)
        self._processes.append(xvfb)
        atexit.register(self.stop)
        number = self._read_display_number(read_fd, xvfb)
        self.display = f":{number}"
        # An entry for this display, so X clients (python-xlib) find one and do not warn; Xvfb
        # runs without -auth, so the cookie itself is not checked.
        if shutil.which("xauth"):
            subprocess.run(["xauth", "-f", self._xauthority, "add", self.display, ".", secrets.token_hex(16)],
                           capture_output=True, check=False)
        if self.window_manager:
            self._bus = SessionBus.start(self.env, accessibility=False)  # openbox reads no tree
            self._processes.append(subprocess.Popen(
                [*_DIE_WITH_PARENT, "openbox"], env={**self.env, **self._bus.env}, stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
            ))
            self._wait_for_window_manager()
        return self

    def _read_display_number(self, fd: int, xvfb: subprocess.Popen) -> str:
        deadline = time.monotonic() + START_TIMEOUT
        data = b""
        with os.fdopen(fd, "rb", buffering=0) as pipe:
            os.set_blocking(fd, False)
            while not data.endswith(b"\n"):
                if xvfb.poll() is not None:
                    err = xvfb.stderr.read().decode(errors="replace") if xvfb.stderr else ""
                    self.stop()
                    raise DesktopStartError(f"Xvfb exited with status {xvfb.returncode}: {err.strip()[-500:]}")
                if time.monotonic() > deadline:
                    self.stop()
                    raise DesktopStartError("Xvfb did not report a display number in time")
                try:
                    data += pipe.read(16) or b""
                except BlockingIOError:
                    time.sleep(0.01)
        return data.decode().strip()

    def _wait_for_window_manager(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            probe = subprocess.run(["wmctrl", "-m"], env=self.env, capture_output=True, text=True)
            if probe.returncode == 0:
                return
            time.sleep(0.05)
        self.stop()
        raise DesktopStartError("the window manager (openbox) did not start in time")

    @property
    def server(self) -> subprocess.Popen | None:
        """The Xvfb process, while started."""
        return self._processes[0] if self._processes else None

    def launch(self, argv: Sequence[str], cwd: str | Path | None = None) -> subprocess.Popen:
        """Start a program on this desktop, on the desktop's session bus (so GTK programs autolaunch no
        bus of their own that would outlive them); it is stopped with the desktop."""
        env = {**self.env, **self._bus.env} if self._bus is not None else self.env
        process = subprocess.Popen(
            [*_DIE_WITH_PARENT, *argv], env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True,
        )
        self._processes.append(process)
        return process

    def wait_for_window(self, name: str, timeout: float = 10.0) -> str:
        """The id of the first window whose title contains `name`, once it is mapped."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = subprocess.run(
                ["xdotool", "search", "--onlyvisible", "--name", name], env=self.env, capture_output=True, text=True
            )
            if found.returncode == 0 and found.stdout.strip():
                return found.stdout.split()[0]
            time.sleep(0.05)
        raise DesktopStartError(f"no window named {name!r} appeared within {timeout} s")

    def stop(self) -> None:
        """Stop every process this desktop started, newest first; safe to call twice."""
        for process in reversed(self._processes):
            stop_group(process)
        self._processes.clear()
        if self._bus is not None:
            self._bus.stop()
            self._bus = None
        atexit.unregister(self.stop)
        Path(self._xauthority).unlink(missing_ok=True)

    def __enter__(self) -> VirtualDesktop:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
