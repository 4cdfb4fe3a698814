"""Ctrl+C during `kimi-agent replay`: one line, exit status 130, as `run`, `eval` and `record` do.

Ctrl+C on a terminal sends SIGINT to the whole foreground process group (the CLI, Playwright's driver and
Chromium alike), so the replay runs in its own session and the signal goes to that group.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from agent.trajectory.store import Trajectory

ROOT = Path(__file__).resolve().parents[3]


def _lines(stream: object, into: queue.Queue[str | None]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        into.put(line.rstrip("\n"))
    into.put(None)


def _wait_for(lines: queue.Queue[str | None], prefix: str, seen: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            break
        if line is None:
            pytest.fail(f"replay ended before {prefix!r}: {seen}")
        seen.append(line)
        if line.startswith(prefix):
            return
    pytest.fail(f"no {prefix!r} within {timeout} s: {seen}")


def _group_gone(pgid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("after", ["as recorded:", "step 1:"], ids=["while-starting", "between-steps"])
def test_ctrl_c_prints_one_line_and_exits_130(recorded: dict[str, Trajectory], after: str) -> None:
    # --speed 0.01 keeps a hundred times the recorded pause between steps: the replay is still running
    command = [sys.executable, "-m", "agent", "replay", str(recorded["thinking"].folder), "--speed", "0.01"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True, env={**os.environ, "COLUMNS": "300"})
    lines: queue.Queue[str | None] = queue.Queue()
    reader = threading.Thread(target=_lines, args=(process.stdout, lines), daemon=True)
    reader.start()
    seen: list[str] = []
    try:
        _wait_for(lines, after, seen, timeout=90)
        time.sleep(1.0)  # what the replay says before the signal (a retried step's line) is not its answer
        while not lines.empty():
            seen.append(lines.get_nowait() or "")
        os.killpg(process.pid, signal.SIGINT)
        status = process.wait(timeout=30)
        reader.join(timeout=10)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    said = []
    while (line := lines.get_nowait()) is not None:
        said.append(line)
    said = [line for line in said if line.strip()]
    assert status == 130, seen + said
    assert len(said) == 1 and "interrupted" in said[0], seen + said
    assert _group_gone(process.pid, timeout=10), "a process of the replay outlived it"
