"""A D-Bus session bus of our own, stopped with whoever started it (even when that one is killed outright)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass

from environments.processes import die_with_parent, stop_group


OFFICE_PLUGIN = "gtk3"
"""LibreOffice's window toolkit (VCL plugin): only GTK3 gives Debian's LibreOffice an AT-SPI tree, and
OSWorld's Ubuntu desktop runs it too. Without libreoffice-gtk3 installed LibreOffice ignores the choice
and picks its own (`gen`, no tree)."""
ADDRESS_TIMEOUT = 10.0


class SessionBusError(RuntimeError):
    """dbus-daemon did not start a session bus."""


@dataclass
class SessionBus:
    """A D-Bus session of a desktop's or a task's own, apart from any other session on this computer:
    the window manager talks to it, and a task's programs share one AT-SPI bus on it that
    `accessibility_tree` reads. With no dbus-daemon installed, programs keep the environment's bus.

    Started here rather than by `dbus-run-session`, whose daemon outlives it when it is killed.

    A task's AT-SPI bus is started with its session and named to its programs by address
    (`AT_SPI_BUS_ADDRESS`), in a runtime folder of the session's own. Left to find it themselves,
    they would read the display's `AT_SPI_BUS` property first, which still names the previous
    task's bus when that one was stopped before it could clear it, and the socket path
    (`bus_<display>`) is the same for every task on one display."""

    process: subprocess.Popen | None
    address: str | None
    office_plugin: str = OFFICE_PLUGIN
    runtime_dir: str | None = None
    accessibility_address: str | None = None

    @classmethod
    def start(cls, env: dict[str, str], accessibility: bool = True) -> SessionBus:
        """A bus for programs started with `env`, with its AT-SPI bus running when `accessibility`;
        a LibreOffice plugin `env` names is kept."""
        if shutil.which("dbus-daemon") is None:
            return cls(None, None)
        runtime_dir = tempfile.mkdtemp(prefix="kimi-session-")
        process = subprocess.Popen(
            ["dbus-daemon", "--session", "--nofork", "--print-address=1"], env={**env, "XDG_RUNTIME_DIR": runtime_dir},
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True,
            start_new_session=True,
            preexec_fn=die_with_parent,  # the bus (and what it activated) ends with the task's process
        )
        address = process.stdout.readline().strip() if process.stdout else ""
        bus = cls(process, address or None, env.get("SAL_USE_VCLPLUGIN") or OFFICE_PLUGIN, runtime_dir)
        if not address:
            bus.stop()
            raise SessionBusError("dbus-daemon did not start a session bus")
        if accessibility:
            bus.accessibility_address = _accessibility_bus(address)
        return bus

    @property
    def env(self) -> dict[str, str]:
        # GTK's, Qt's and LibreOffice's accessibility bridges on, as on OSWorld's GNOME desktop.
        if not self.address:
            return {}
        found = {"DBUS_SESSION_BUS_ADDRESS": self.address, "XDG_RUNTIME_DIR": self.runtime_dir or "",
                 "NO_AT_BRIDGE": "0", "GTK_A11Y": "atspi", "QT_LINUX_ACCESSIBILITY_ALWAYS_ON": "1",
                 "SAL_USE_VCLPLUGIN": self.office_plugin}
        if self.accessibility_address:
            found["AT_SPI_BUS_ADDRESS"] = self.accessibility_address
        return found

    def stop(self) -> None:
        """The bus with the AT-SPI bus and registry it activated (they share its process group),
        and its runtime folder."""
        if self.process is not None:
            stop_group(self.process)
        if self.runtime_dir is not None:
            shutil.rmtree(self.runtime_dir, ignore_errors=True)


def _accessibility_bus(session_address: str) -> str | None:
    """The address of the session's AT-SPI bus, started on demand by D-Bus activation (~20 ms);
    None without at-spi2-core or dbus-send."""
    if shutil.which("dbus-send") is None:
        return None
    try:
        done = subprocess.run(
            ["dbus-send", f"--bus={session_address}", "--print-reply=literal", "--dest=org.a11y.Bus",
             "/org/a11y/bus", "org.a11y.Bus.GetAddress"],
            capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=ADDRESS_TIMEOUT)
    except subprocess.TimeoutExpired:
        return None
    address = done.stdout.strip()
    return address if done.returncode == 0 and address.startswith(("unix:", "tcp:")) else None
