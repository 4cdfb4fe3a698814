"""The kinds of environment, their Gymnasium ids, and THE factory: `EnvConfig` → `gymnasium.make`.

`run`, `eval`, `replay` and the tests build every environment through `make_env`, so a kind's
name (the CLI's `--env`), its Gym id and its constructor's arguments are written once, here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, get_args

import gymnasium

if TYPE_CHECKING:
    from environments.base import ScreenEnv

EnvKind = Literal["desktop", "xvfb", "browser", "static", "osworld", "waa", "vm"]
ENV_KINDS: tuple[EnvKind, ...] = get_args(EnvKind)
VM_KINDS: tuple[EnvKind, ...] = ("osworld", "waa")
"""Kinds that act on a remote VM through its server (`--vm-url`)."""
MANAGED_VM_KINDS: tuple[EnvKind, ...] = ("vm",)
"""Kinds that boot their own VM from an image (`--vm-image`, environments.vm) and stop it on close."""
LOCAL_DISPLAY_KINDS: tuple[EnvKind, ...] = ("desktop", "xvfb")
"""Kinds that act on an X display of this machine (the panic key listens there)."""
AGENT_KINDS: tuple[EnvKind, ...] = ("desktop", "xvfb", "browser", "osworld", "waa")
"""Kinds a person runs or replays an episode on (`static` is a generated screen for harness benchmarks)."""

GYM_IDS: dict[EnvKind, str] = {
    "desktop": "KimiCurrentDisplay-v0",
    "xvfb": "KimiXvfb-v0",
    "browser": "KimiBrowser-v0",
    "static": "KimiStatic-v0",
    "osworld": "KimiOSWorld-v0",
    "waa": "KimiWAA-v0",
    "vm": "KimiQemuVM-v0",
}
_ENTRY_POINTS: dict[EnvKind, str] = {
    "desktop": "environments.desktop:DesktopEnv",
    "xvfb": "environments.xvfb:XvfbEnv",
    "browser": "environments.browser:BrowserEnv",
    "static": "environments.static:StaticEnv",
    "osworld": "environments.remote.env:RemoteVMEnv",
    "waa": "environments.remote.env:RemoteVMEnv",
    "vm": "environments.vm.env:QemuVMEnv",
}


class EnvConfigError(ValueError):
    """An environment was asked for with settings it cannot take; the message says what to give."""


def register() -> None:
    """Register every kind with Gymnasium (idempotent; the entry points are imported lazily by `make`).
    Every kind but `static` shows a real screen, which no seed makes repeat itself (a caret blinks, a
    clock ticks): Gymnasium is told so, and its checker skips the step-determinism check for them."""
    for kind, gym_id in GYM_IDS.items():
        if gym_id not in gymnasium.registry:
            kwargs = {"flavor": kind} if kind in VM_KINDS else {}
            gymnasium.register(id=gym_id, entry_point=_ENTRY_POINTS[kind], kwargs=kwargs,
                               nondeterministic=kind != "static")


def check_kind(name: str, allowed: tuple[str, ...] = ENV_KINDS) -> str:
    """`name` if it is one of `allowed`, else an `EnvConfigError` listing them."""
    if name not in allowed:
        raise EnvConfigError(f"use {', '.join(allowed[:-1])} or {allowed[-1]}")
    return name


@dataclass(frozen=True)
class EnvConfig:
    """Everything needed to build one environment; small and picklable, so a worker builds its own."""

    kind: EnvKind
    size: tuple[int, int] = (1280, 800)
    """Screen of an xvfb desktop, viewport of a browser page (CSS px), or the static screen."""
    scale: float = 1.0
    """Logical-to-physical pixel ratio (desktop, xvfb) or device scale factor (browser)."""
    monitor: int = 1
    launch: tuple[tuple[str, ...], ...] = ()
    """Programs an xvfb desktop starts, each as argv."""
    url: str = "about:blank"
    vm_url: str | None = None
    vm_token: str | None = None
    vm_image: str | None = None
    """Base image `--env vm` boots under QEMU (never written)."""

    def arguments(self) -> dict[str, Any]:
        """The keyword arguments of this kind's constructor."""
        width, height = self.size
        match self.kind:
            case "desktop":
                return {"monitor": self.monitor, "scale": self.scale}
            case "xvfb":
                return {"width": width, "height": height, "launch": [list(argv) for argv in self.launch], "scale": self.scale}
            case "browser":
                return {"width": width, "height": height, "url": self.url, "device_scale_factor": self.scale}
            case "static":
                return {"width": width, "height": height}
            case "vm":
                if not self.vm_image:
                    raise EnvConfigError("--env vm needs a guest image (--vm-image); build one with `kimi-agent vm build`")
                return {"image": self.vm_image}
        if not self.vm_url:
            raise EnvConfigError(f"--env {self.kind} needs the VM server's URL (--vm-url)")
        return {"vm_url": self.vm_url, "token": self.vm_token}


def make_env(config: EnvConfig) -> ScreenEnv:
    """A new environment as `config` says (the env's module is imported only now: pyautogui needs DISPLAY first)."""
    register()
    return gymnasium.make(GYM_IDS[config.kind], disable_env_checker=True, **config.arguments()).unwrapped
