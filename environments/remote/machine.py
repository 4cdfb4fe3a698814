"""`RemoteMachine`: the `Machine` that task setup steps and getters use, over a VM server."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from environments.remote.client import A11yBackend, VMClient, VMError
from environments.tasks.errors import SetupError
from environments.tasks.machine import COMMAND_TIMEOUT, Command, CommandResult
from environments.tasks.tabs import DevToolsTabs, Tabs

CHROME_DEVTOOLS_PORT = 9222
"""Where OSWorld's VMs expose Chrome's DevTools (socat forwards it to Chrome's own port)."""
GUEST_NOW = "from datetime import datetime; print(datetime.now().astimezone().isoformat())"
"""Python that prints the guest's local time, run through /execute as OSWorld's getter runs it."""


@dataclass
class RemoteMachine:
    """Paths are the VM's own (no mapping); Chrome is reached on the VM's DevTools port.

    `clock` is whose clock `now()` reads: the guest's, as OSWorld's current harness does, or the
    host's, as WAA's harness does (its `rule_relativeTime` calls `datetime.now()` on the host)."""

    client: VMClient
    cache_dir: Path
    screen_size: tuple[int, int]
    password: str = "password"
    clock: Literal["guest", "host"] = "guest"

    def localize(self, text: str) -> str:
        return text

    def execute(self, command: Command, shell: bool = False, timeout: float = COMMAND_TIMEOUT) -> CommandResult:
        result = self.client.execute(command, shell=shell)
        return CommandResult(result.returncode, result.output, result.error)

    def launch(self, command: Command, shell: bool = False) -> None:
        self.client.launch(command, shell=shell)

    def open(self, path: str) -> None:
        try:
            self.client.open_file(path)
        except VMError as err:
            raise SetupError(f"open {path}: {err}") from err

    def upload(self, source: Path, path: str) -> None:
        self.client.upload(path, source.read_bytes())

    def read_file(self, path: str) -> bytes | None:
        return self.client.file(path)

    def window_command(self, action: str, name: str, strict: bool = False, by_class: bool = False) -> bool:
        try:
            self.client.window(action, name, strict, by_class)
        except VMError as err:
            raise SetupError(f"{action}_window {name!r}: {err}") from err
        return True

    def terminal_output(self) -> str | None:
        return self.client.terminal()

    def accessibility_tree(self, backend: A11yBackend | None = None) -> str | None:
        """`backend`: what WAA's getters ask a Windows guest for (`uia`); a Linux guest ignores it."""
        return self.client.accessibility(backend)

    def tabs(self) -> Tabs:
        host = urlsplit(self.client.base_url).hostname or "127.0.0.1"
        return DevToolsTabs(f"http://{host}:{CHROME_DEVTOOLS_PORT}")

    def now(self) -> datetime:
        """The guest's local time through `/execute` (both servers have it; WAA's has no /run_python),
        or the host's when `clock` says so; as OSWorld's getter, any failure falls back to the host's."""
        if self.clock == "host":
            return datetime.now().astimezone()
        try:
            answer = self.client.execute(["python", "-c", GUEST_NOW])
            return datetime.fromisoformat(answer.output.strip())
        except (VMError, ValueError):
            return datetime.now().astimezone()

    def create_folder(self, path: str) -> None:
        self.client.create_folder(path)

    def recycle(self, path: str) -> None:
        self.client.recycle(path)

    def close_all(self) -> None:
        self.client.close_all()

    def close(self) -> None:
        """The VM's state is reset by its snapshot (OSWorld) or by WAA's reset routes, not here."""
