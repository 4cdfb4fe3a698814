"""A D-Bus session bus of our own, stopped with whoever started it (even when that one is killed outright)."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass

from environments.processes import die_with_parent, stop_group


OFFICE_PLUGIN = "gtk3"
"""LibreOffice's window toolkit (VCL plugin): only GTK3 gives Debian's LibreOffice an AT-SPI tree, and
OSWorld's Ubuntu desktop runs it too. Without libreoffice-gtk3 installed LibreOffice ignores the choice
and picks its own (`gen`, no tree)."""


class SessionBusError(RuntimeError):
    """dbus-daemon did not start a session bus."""


@dataclass
class SessionBus:
    """A D-Bus session of a desktop's or a task's own, apart from any other session on this computer:
    the window manager talks to it, and a task's programs share one AT-SPI bus on it (started on
    demand by D-Bus activation) that `accessibility_tree` reads. With no dbus-daemon installed,
    programs keep the environment's bus.

    Started here rather than by `dbus-run-session`, whose daemon outlives it when it is killed."""

    process: subprocess.Popen | None
    address: str | None
    office_plugin: str = OFFICE_PLUGIN

    @classmethod
    def start(cls, env: dict[str, str]) -> SessionBus:
        """A bus for programs started with `env`; a LibreOffice plugin `env` names is kept."""
        if shutil.which("dbus-daemon") is None:
            return cls(None, None)
        process = subprocess.Popen(
            ["dbus-daemon", "--session", "--nofork", "--print-address=1"], env=env, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True, start_new_session=True,
            preexec_fn=die_with_parent,  # the bus (and what it activated) ends with the task's process
        )
        address = process.stdout.readline().strip() if process.stdout else ""
        if not address:
            stop_group(process)
            raise SessionBusError("dbus-daemon did not start a session bus")
        return cls(process, address, env.get("SAL_USE_VCLPLUGIN") or OFFICE_PLUGIN)

    @property
    def env(self) -> dict[str, str]:
        # GTK's, Qt's and LibreOffice's accessibility bridges on, as on OSWorld's GNOME desktop.
        if not self.address:
            return {}
        return {"DBUS_SESSION_BUS_ADDRESS": self.address, "NO_AT_BRIDGE": "0", "GTK_A11Y": "atspi",
                "QT_LINUX_ACCESSIBILITY_ALWAYS_ON": "1", "SAL_USE_VCLPLUGIN": self.office_plugin}

    def stop(self) -> None:
        """The bus with the AT-SPI bus and registry it activated (they share its process group)."""
        if self.process is not None:
            stop_group(self.process)
