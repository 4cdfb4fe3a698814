"""The provider interface: start a VM, reach its server, bring it back to its pristine state, stop it.

A harness holds one provider per worker: `start()` once, `before_task()` before every task (which reverts
only a VM a previous task used), `healthy()` to notice a VM that stopped answering, `stop()` at the end.
"""

from __future__ import annotations

import shlex
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Literal, Protocol

from environments.remote.client import VMClient, VMError

RevertPolicy = Literal["snapshot", "reboot", "command", "none"]
"""snapshot: live `loadvm`; reboot: a fresh overlay and a cold boot; command: the user's own; none: never."""
DEVTOOLS_PORT = 9222
VLC_PORT = 8080
SERVICE_PORTS = (DEVTOOLS_PORT, VLC_PORT)
"""Guest ports forwarded besides the server: Chromium's DevTools and VLC's HTTP interface (as OSWorld)."""


class VMProviderError(VMError):
    """A VM could not be started, reverted or reached; the message says what to do (a `VMError`, so every
    command that reports VM errors reports these as one line too)."""


@dataclass(frozen=True)
class VMHandle:
    """Where a started VM answers, and how to watch it."""

    name: str
    server_url: str
    token: str | None = None
    ports: dict[int, int] = field(default_factory=dict)
    """Guest service port → host port on `host` (DevTools 9222, VLC 8080)."""
    vnc: str | None = None
    """host:port (loopback) of a VNC server showing the desktop, for `vncviewer` or an SSH tunnel."""
    console_vnc: str | None = None
    """host:port (loopback) of QEMU's own VNC: the emulated screen (boot; OSWorld's and WAA's desktops)."""
    serial_log: Path | None = None
    pid: int | None = None
    host: str = "127.0.0.1"
    """The loopback address the forwarded ports listen on (the qemu provider gives each VM its own)."""

    def describe(self) -> str:
        parts = [f"{self.name}: server {self.server_url}"]
        parts += [f"guest :{guest} at {self.host}:{port}" for guest, port in sorted(self.ports.items())]
        if self.vnc:
            parts.append(f"VNC {self.vnc}")
        if self.console_vnc and self.console_vnc != self.vnc:
            parts.append(f"console VNC {self.console_vnc}")
        if self.serial_log:
            parts.append(f"serial log {self.serial_log}")
        return "; ".join(parts)


class VMProvider(Protocol):
    """One VM's life cycle (see the module docstring)."""

    name: str
    revert_policy: RevertPolicy
    handle: VMHandle | None
    """Where the VM answers (None before `start()` of a provider that boots it, and after `stop()`)."""

    def start(self) -> VMHandle: ...

    def revert(self) -> None: ...

    def before_task(self) -> bool:
        """Revert if a task used the VM since its last revert; whether it reverted."""
        ...

    def healthy(self) -> bool: ...

    def stop(self) -> None: ...


def wait_for_server(url: str, token: str | None, timeout: float, alive: Callable[[], bool] | None = None,
                    stalled: Callable[[], str | None] | None = None) -> float:
    """Seconds until the server at `url` answers `/platform`; `VMProviderError` after `timeout`, once
    `alive()` is False, or once `stalled()` gives a reason the boot hung."""
    started = time.monotonic()
    client = VMClient(url, token, timeout=5, retries=0)
    try:
        while True:
            try:
                client.platform()
                return time.monotonic() - started
            except VMError as err:
                last = err
            if alive is not None and not alive():
                raise VMProviderError(f"the VM exited before its server at {url} answered")
            if stalled is not None and (why := stalled()):
                raise VMProviderError(f"the boot hung: {why}")
            if time.monotonic() - started > timeout:
                raise VMProviderError(f"the server at {url} did not answer within {timeout:.0f} s: {last}")
            time.sleep(0.5)
    finally:
        client.close()


CLOCK_SLACK = 2.0
"""A guest clock this many seconds off the host's is set again (a restored snapshot keeps its old time)."""


def fix_guest_clock(url: str, token: str | None, password: str) -> float:
    """Set a Linux guest's clock to the host's if it is off by over `CLOCK_SLACK`; the offset found (s)."""
    client = VMClient(url, token, timeout=30, retries=1)
    try:
        if client.platform().strip() != "Linux":
            return 0.0  # Windows guests resync through their time service
        done = client.execute(["date", "+%s.%N"])
        offset = float(done.output.strip() or 0) - time.time() if done.returncode == 0 else 0.0
        if abs(offset) > CLOCK_SLACK:
            command = f"echo {shlex.quote(password)} | sudo -S -p '' date -u -s @{time.time():.3f} >/dev/null"
            result = client.execute(command, shell=True)
            if result.returncode != 0:
                raise VMProviderError(f"could not set the guest clock ({offset:+.0f} s off): "
                                      f"{result.error.strip()}")
        return offset
    except VMError as err:
        raise VMProviderError(f"could not check the guest clock: {err}") from None
    finally:
        client.close()
