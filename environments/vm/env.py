"""`QemuVMEnv` (`KimiQemuVM-v0`, `--env vm`): a `RemoteVMEnv` on a VM it boots itself and reverts per task.

The environment owns its QEMU process: it boots the image at construction, reverts to the `init_state`
snapshot before a task on a VM an earlier task used, and stops QEMU on `close()` (and QEMU dies with this
process however it ends: `environments.vm.lifetime`).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from environments.base import TaskOptions
from environments.remote.env import RemoteVMEnv
from environments.vm.accel import Accel
from environments.vm.qemu import QemuOptions, QemuProvider


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class QemuVMEnv(RemoteVMEnv):
    def __init__(self, image: str, accel: Accel = "auto", memory_mib: int = 2048, cores: int = 2,
                 render_mode: str | None = None) -> None:
        options = QemuOptions(image=Path(image), accel=accel, memory_mib=memory_mib, cores=cores)
        self.provider = QemuProvider(options, say=_say)
        handle = self.provider.start()
        _say(f"VM ready in {self.provider.timings['boot']:.0f} s: {handle.describe()}")
        try:
            super().__init__(handle.server_url, handle.token, "osworld", render_mode)
        except Exception:
            self.provider.stop()
            raise

    def reset(self, *, seed: int | None = None,
              options: TaskOptions | dict[str, Any] | None = None) -> tuple[dict, dict]:
        self.provider.before_task()
        observation, info = super().reset(seed=seed, options=options)
        handle = self.provider.handle
        if handle is not None and handle.vnc:
            info["vnc"] = handle.vnc  # the run's banner, trajectory and --watch page show where to look
        return observation, info

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.provider.stop()
