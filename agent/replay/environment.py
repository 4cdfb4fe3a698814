"""The environment a replay starts: what the command line says, else what the recording says it ran on.

Replaying on a desktop started differently from the recorded one (another launch command,
size or page) diverges at the first step — the demo's xterm with its geometry and font,
replayed on a plain `xterm`, measured 0.612 against a threshold of 0.97 — so each setting the
recording stored (`EpisodeInfo.setup`) is reused unless the command line gives it. A recording made on
`--env vm` names the base image its VM booted from: the replay boots a fresh VM from the same image.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from agent.trajectory.store import EnvSetup, Trajectory
from environments.kinds import AGENT_KINDS, MANAGED_VM_KINDS, EnvConfig, EnvKind

REPLAY_KINDS: tuple[EnvKind, ...] = AGENT_KINDS + MANAGED_VM_KINDS
"""Kinds an episode replays on: a person's, plus a VM the replay boots from an image (`--env vm`)."""


@dataclass(frozen=True)
class ReplayEnvRequest:
    """What the command line asked for; None: not given (use the recording's, else the default)."""

    kind: EnvKind | None = None
    size: tuple[int, int] | None = None
    launch: tuple[tuple[str, ...], ...] | None = None
    url: str | None = None
    monitor: int = 1
    vm_url: str | None = None
    vm_token: str | None = None
    vm_image: str | None = None


def replay_env(trajectory: Trajectory, request: ReplayEnvRequest) -> tuple[EnvConfig, list[str]]:
    """The `EnvConfig` to replay on, and one line per setting taken from the recording (to print)."""
    recorded = trajectory.info.setup
    kind = request.kind or _recorded_kind(recorded) or "desktop"
    same = recorded if recorded is not None and recorded.kind == kind else None
    reused: list[str] = []
    if request.kind is None and recorded is not None and same is not None:
        reused.append(f"env {kind}")
    first = trajectory.steps[0].frame if trajectory.steps else None
    size = request.size
    if size is None and same is not None and same.size is not None:
        size = same.size
        reused.append(f"size {size[0]}x{size[1]}")
    if size is None:  # the recorded screen's logical size, as replays always did
        size = (first.logical_width, first.logical_height) if first is not None else (1280, 800)
    launch = request.launch
    if launch is None and same is not None and same.launch:
        launch = tuple(tuple(argv) for argv in same.launch)
        reused += [f"launch {shlex.join(argv)}" for argv in launch]
    url = request.url
    if url is None and same is not None and same.url:
        url = same.url
        reused.append(f"url {url}")
    vm_url = request.vm_url
    if vm_url is None and same is not None and same.vm_url:
        vm_url = same.vm_url
        reused.append(f"vm-url {vm_url}")
    vm_image = request.vm_image
    if vm_image is None and same is not None and same.vm_image:
        vm_image = same.vm_image
        reused.append(f"vm-image {vm_image}")
    scale = first.scale if first is not None else same.scale if same is not None else 1.0
    config = EnvConfig(
        kind, size=size, scale=scale, monitor=request.monitor, launch=launch or (), url=url or "about:blank",
        vm_url=vm_url, vm_token=request.vm_token, vm_image=vm_image,
    )
    return config, reused


def _recorded_kind(setup: EnvSetup | None) -> EnvKind | None:
    return next((kind for kind in REPLAY_KINDS if setup is not None and setup.kind == kind), None)
