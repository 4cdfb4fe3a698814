"""Helpers for replay and record tests: fresh virtual desktops with an xterm, and the CLI in a subprocess.

pyautogui, pynput and mss bind the display per process, so `replay` and `record` always run
in a subprocess with the desktop's environment.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from environments.virtual_desktop import VirtualDesktop

ROOT = Path(__file__).resolve().parents[3]
XTERM = ("xterm", "-geometry", "80x24+0+0", "-title", "replay-term")


def start_xterm(desktop: VirtualDesktop, workdir: Path, *extra: str) -> None:
    """The terminal every test starts from (its prompt shows `workdir`, so use the same one to replay)."""
    desktop.launch([*XTERM, *extra], cwd=workdir)
    desktop.wait_for_window("replay-term")
    time.sleep(0.3)  # the shell's prompt


def replay_cli(desktop: VirtualDesktop, *args: str, cwd: Path = ROOT, timeout: float = 120) -> subprocess.CompletedProcess:
    """`python -m agent.cli.replay ARGS` on `desktop`; stdout and stderr together, whitespace-normalised in `.out`."""
    done = subprocess.run(
        [sys.executable, "-m", "agent.cli.replay", *args], env=desktop.env, cwd=cwd,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout, check=False,
    )
    done.out = " ".join(done.stdout.split())  # type: ignore[attr-defined]
    return done


@pytest.fixture
def fresh_desktop() -> Iterator[VirtualDesktop]:
    with VirtualDesktop(1280, 800) as desktop:
        yield desktop
