"""What a killed eval leaves is stopped, and its folder has one writer: real processes, real SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from agent.evaluation.lock import FolderLocked, ResultsLock
from tests.processes import alive

ROOT = Path(__file__).resolve().parents[3]


def python(code: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, stdout=subprocess.PIPE,
                            text=True)


def test_a_second_writer_is_told_who_holds_the_folder_and_a_killed_holder_frees_it(tmp_path: Path) -> None:
    holder = python(f"""
        import time
        from pathlib import Path
        from agent.evaluation.lock import ResultsLock
        lock = ResultsLock(Path({str(tmp_path)!r})).acquire()
        print("held", flush=True)
        time.sleep(300)
    """)
    try:
        assert holder.stdout.readline().strip() == "held"
        who = rf"being written by another eval \(pid {holder.pid} on .*, since "
        with pytest.raises(FolderLocked, match=who):
            ResultsLock(tmp_path).acquire(dying_wait=0)
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    ResultsLock(tmp_path).acquire().release()  # the kernel dropped the dead holder's lock


def test_the_guardian_stops_every_marked_process_when_its_owner_is_killed(tmp_path: Path) -> None:
    """Descendants that left the owner's session and process group (as Xvfb and apps do), and a
    grandchild orphaned early, are all stopped once the owner dies by SIGKILL."""
    owner = python("""
        import subprocess, sys
        from environments.processes import Guardian
        guardian = Guardian("t0k3n")
        apart = subprocess.Popen(["sleep", "300"], start_new_session=True)
        orphan = subprocess.Popen(["sh", "-c", "sleep 300 & echo $!"], stdout=subprocess.PIPE, text=True)
        grandchild = orphan.stdout.readline().strip()
        orphan.wait()
        print(apart.pid, grandchild, guardian._process.pid, flush=True)
        import time; time.sleep(300)
    """)
    apart, grandchild, guardian = map(int, owner.stdout.readline().split())
    assert alive(apart) and alive(grandchild) and alive(guardian)
    owner.kill()
    owner.wait()
    owner.stdout.close()
    deadline = time.monotonic() + 15
    while any(map(alive, (apart, grandchild, guardian))) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [pid for pid in (apart, grandchild, guardian) if alive(pid)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert left == []
