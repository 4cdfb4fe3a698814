"""A local machine and a task context over it, in a test's own temporary folders."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from environments.tasks.context import TaskContext
from environments.tasks.machine import LocalMachine


@pytest.fixture
def machine(tmp_path: Path) -> Iterator[LocalMachine]:
    m = LocalMachine(home=tmp_path / "home", cache_dir=tmp_path / "cache", screen_size=(1280, 800))
    yield m
    m.close()


@pytest.fixture
def context(machine: LocalMachine, tmp_path: Path) -> TaskContext:
    (tmp_path / "task").mkdir(exist_ok=True)
    return TaskContext(machine, tmp_path / "cache", tmp_path / "downloads", task_dir=tmp_path / "task")
