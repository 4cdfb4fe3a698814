"""Child processes that die with the Python process that owns them, even when it is SIGKILLed.

`PR_SET_PDEATHSIG` asks the kernel to send SIGKILL to the child when its parent thread exits, so no
QEMU or swtpm outlives `eval`, a worker, or an actor however they end. The signal follows the *thread*
that forked the child: start VMs from the main thread or from a thread that lives as long as the VM.
"""

from __future__ import annotations

import ctypes
import os
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
