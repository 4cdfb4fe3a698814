"""An environment's start-up settings as trajectories store them (`EnvSetup`), from the factory's config."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from agent.trajectory.store import EnvSetup

if TYPE_CHECKING:
    from environments.kinds import EnvConfig

SIZED = ("xvfb", "browser", "static")
"""Kinds whose screen size the configuration sets (a desktop's is the display's own)."""


def env_setup(config: EnvConfig) -> EnvSetup:
    """What `replay` needs to start the same environment again; the VM token is left out on purpose."""
    return EnvSetup(
        kind=config.kind, size=config.size if config.kind in SIZED else None, scale=config.scale,
        monitor=config.monitor,
        launch=[list(argv) for argv in config.launch] if config.kind == "xvfb" else [],
        url=config.url if config.kind == "browser" else None, vm_url=config.vm_url,
        vm_image=str(Path(config.vm_image).resolve()) if config.kind == "vm" and config.vm_image else None,
    )
