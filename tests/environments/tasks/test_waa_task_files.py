"""WindowsAgentArena's 154 published task files: every one loads, and at least 130 are runnable.

WAA's files are not shipped (their license is WAA's and CI cannot reach GitHub): point
KIMI_AGENT_WAA_CHECKOUT at a checkout's `src/win-arena-container` to run this. The shapes those files
use that OSWorld's do not are tested without them in tests/environments/tasks/test_rules.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from environments.tasks.load import load_tasks
from environments.tasks.support import support_of

CHECKOUT = os.environ.get("KIMI_AGENT_WAA_CHECKOUT")
EXAMPLES = Path(CHECKOUT or ".") / "client" / "evaluation_examples_windows" / "examples"
ROOT = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.skipif(
    not (CHECKOUT and EXAMPLES.is_dir()),
    reason="needs WAA's task files: KIMI_AGENT_WAA_CHECKOUT=.../src/win-arena-container",
)


def test_every_published_file_loads_and_130_or_more_are_runnable() -> None:
    loaded = load_tasks(EXAMPLES)
    assert (len(loaded.tasks), len(loaded.failures)) == (154, 0), loaded.failures
    runnable = [task for task in loaded.tasks if support_of(task).runnable]
    assert len(runnable) >= 130, len(runnable)
    keys = {(task.domain, task.key) for task in loaded.tasks}
    assert (
        len(keys) == 154 > len({(task.domain, task.id) for task in loaded.tasks})
    )  # ids repeat, keys do not


def test_tasks_check_reads_them_all() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "agent", "tasks", "check", str(EXAMPLES)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "154 task files read: 154 tasks, 0 failed to parse" in done.stdout
