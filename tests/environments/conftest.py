"""Fixtures shared by the environment tests."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest


@pytest.fixture
def started(x_display) -> Iterator[list[subprocess.Popen]]:
    """Programs a test starts on the shared display (append them); killed when it ends."""
    processes: list[subprocess.Popen] = []
    yield processes
    for process in processes:
        process.kill()
        process.wait()
