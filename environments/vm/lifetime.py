"""Child processes that die with the Python process that owns them, even when it is SIGKILLed.

`PR_SET_PDEATHSIG` asks the kernel to send SIGKILL to the child when its parent thread exits, so no
QEMU or swtpm outlives `eval`, a worker, or an actor however they end. The signal follows the *thread*
that forked the child: start VMs from the main thread or from a thread that lives as long as the VM.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
from pathlib import Path
from typing import IO

_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        os._exit(125)
    if os.getppid() != parent:  # the owner died between fork and prctl
        os._exit(125)


def spawn_owned(argv: list[str], log: Path | None = None, stdin: int | IO[bytes] | None = subprocess.DEVNULL,
                ) -> subprocess.Popen[bytes]:
    """Start `argv` as a child that the kernel kills when this process dies; output appended to `log`."""
    parent = os.getpid()
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 (the child keeps it)
    try:
        return subprocess.Popen(argv, stdin=stdin, stdout=out, stderr=subprocess.STDOUT,
                                preexec_fn=lambda: _die_with_parent(parent), start_new_session=True)
    finally:
        if log:
            out.close()  # type: ignore[union-attr]


OWNER_FILE = "owner"
"""Written into a VM's working folder: the process that owns the folder (pid and start time)."""


def mark_owned(folder: Path) -> None:
    """Record that this process owns `folder`, so a later `sweep_orphans` can tell when it is gone."""
    (folder / OWNER_FILE).write_text(f"{os.getpid()} {_start_time(os.getpid())}\n")


def sweep_orphans(parent: Path) -> list[Path]:
    """Delete this user's VM folders in `parent` whose owner is gone, and return them.

    The kernel kills QEMU with its owner, but a SIGKILLed owner never runs its `stop`, so the folder
    (an overlay grown by `savevm`, logs: ~400 MB) stays. A folder counts only if it holds our owner
    file; an owner is alive if a process with its pid and start time still exists (pids are reused)."""
    removed = []
    for folder in parent.iterdir() if parent.is_dir() else ():
        marker = folder / OWNER_FILE
        try:
            if folder.is_symlink() or folder.stat().st_uid != os.getuid() or not marker.is_file():
                continue
            pid, started = marker.read_text().split()
        except (OSError, ValueError):
            continue
        if not pid.isdigit() or _start_time(int(pid)) == started:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat); '' if none."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[19]
