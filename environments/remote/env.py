"""`RemoteVMEnv` (`KimiOSWorld-v0`): a VM driven through OSWorld's VM-server protocol.

Screenshots come from `/screenshot`. Our VM server performs each typed action itself (`/act`); to
OSWorld's and WAA's servers (or with `act_by="code"`) an action goes to `/execute` as pyautogui
source generated from the typed action (never from model text), as their harnesses send it.
Tasks' setup and evaluation run against the VM. With `flavor="waa"`, reset first asks the VM to
close every window and clear the task files, as WindowsAgentArena does instead of reverting a
snapshot.

After an action, our VM server is asked to `/settle` (it watches the guest's applications as a
local desktop does) and one screenshot is taken; a server without the route (OSWorld's, WAA's)
is polled for screenshots until two in a row are identical.
"""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any, Literal

from PIL import Image

from actions.executors.remote import CodeExecutor
from actions.models import TERMINAL_TYPES, Action
from environments.base import ScreenEnv, SettleInfo, TaskOptions
from environments.remote.client import VMClient, VMUnsupported
from environments.remote.machine import RemoteMachine
from environments.screen import Monitor, Screenshot
from environments.settle import SettleConfig, poll_until_identical

SETTLE_INTERVAL = 0.1
SETTLE_MAX_SECONDS = 5.0
SETUP_SETTLE_MAX_SECONDS = SettleConfig().setup_max_seconds
"""The cap of the server's settle before a task's first observation: a LibreOffice document is
drawn seconds after its window maps (more under software emulation)."""


class RemoteVMEnv(ScreenEnv):
    def __init__(
        self,
        vm_url: str,
        token: str | None = None,
        flavor: Literal["osworld", "waa"] = "osworld",
        render_mode: str | None = None,
        timeout: float | None = None,
        retries: int | None = None,
        act_by: Literal["auto", "code"] = "auto",
    ) -> None:
        """`timeout` and `retries` of each request to the VM server (None: see `VMClient`). `act_by`:
        "auto" sends typed actions to a server that takes them (ours), "code" always sends pyautogui
        source, as OSWorld's harness does."""
        self.client = VMClient(vm_url, token, timeout, retries)
        self.flavor = flavor
        size = self.client.screen_size()
        self.screen_size = (size.width, size.height)
        png = self.client.screenshot()
        image = Image.open(io.BytesIO(png))
        scale = image.width / size.width if size.width else 1.0
        self._monitor = Monitor(0, 0, 0, image.width, image.height, scale)
        self._last_png = png
        self._server_settles = self._server_can_settle()
        """Until the server answers /settle with `VMUnsupported`: then screenshots are compared."""
        executor = ServerExecutor(self.client, typed=act_by == "auto")
        super().__init__(image.width, image.height, executor, render_mode)

    def _server_can_settle(self) -> bool:
        """Whether the server has /settle, asked with a wait of 0 s: that also opens its watcher of the
        display, which then sees the first action's effect from its start."""
        try:
            self.client.settle(0)
        except VMUnsupported:
            return False
        return True

    def reset(self, *, seed: int | None = None, options: TaskOptions | dict[str, Any] | None = None) -> tuple[dict, dict]:
        if self.flavor == "waa":
            self.client.waa_reset()
        return super().reset(seed=seed, options=options)

    def _task_machine(self, home: Path, cache: Path) -> RemoteMachine:
        # "Today" for relative dates: WAA's harness takes the host's, OSWorld's the guest's.
        clock = "host" if self.flavor == "waa" else "guest"
        return RemoteMachine(self.client, cache, self.screen_size, clock=clock)

    def _decode(self, png: bytes) -> Screenshot:
        return Screenshot(Image.open(io.BytesIO(png)).convert("RGB"), self._monitor, time.time())

    def _initial_frame(self) -> Screenshot:
        self._last_png = self.client.screenshot()
        return self._decode(self._last_png)

    def _settle(self) -> tuple[Screenshot, SettleInfo, float]:
        return self._settled(SETTLE_MAX_SECONDS)

    def _settle_after_setup(self) -> Screenshot:
        """The first frame after a task's setup, once the server sees its applications idle (a longer
        cap: documents open slowly); compared screenshots end as after an action."""
        return self._settled(SETUP_SETTLE_MAX_SECONDS)[0]

    def _settled(self, max_seconds: float) -> tuple[Screenshot, SettleInfo, float]:
        """The server's settle then one screenshot; where the server has no /settle, screenshots until
        two in a row are identical (capped at `SETTLE_MAX_SECONDS`). The VM draws the pointer in."""
        if self._server_settles:
            try:
                return self._settled_by_server(max_seconds)
            except VMUnsupported:
                self._server_settles = False
        started = time.monotonic()
        polled = poll_until_identical(self.client.screenshot, SETTLE_INTERVAL, started + SETTLE_MAX_SECONDS)
        before, self._last_png = self._last_png, polled.data
        info = SettleInfo(seconds=time.monotonic() - started, frames=polled.frames, stable=polled.stable,
                          changed=polled.data != before)
        return self._decode(polled.data), info, polled.grab_seconds

    def _settled_by_server(self, max_seconds: float) -> tuple[Screenshot, SettleInfo, float]:
        started = time.monotonic()
        waited = self.client.settle(max_seconds)
        seconds = time.monotonic() - started
        png = self.client.screenshot()
        before, self._last_png = self._last_png, png
        info = SettleInfo(seconds=seconds, frames=waited.looks, stable=waited.idle, changed=png != before)
        return self._decode(png), info, time.monotonic() - started - seconds

    def close(self) -> None:
        super().close()
        self.client.close()


class ServerExecutor:
    """Performs actions on the VM: as typed actions (`/act`) while the server takes them, else as
    their pyautogui source (`/execute`). A server without `/act` answers 404 before doing anything,
    so the action is then sent as code once, and every later one goes as code at once."""

    def __init__(self, client: VMClient, typed: bool = True) -> None:
        self.client = client
        self.typed = typed
        self._code = CodeExecutor(client.run_pyautogui)

    def execute(self, action: Action) -> None:
        if self.typed and action.type not in TERMINAL_TYPES:
            try:
                self.client.act(action)
                return
            except VMUnsupported:
                self.typed = False
        self._code.execute(action)
