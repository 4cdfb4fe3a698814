"""Stopping a process together with everything it started."""

from __future__ import annotations

import os
import signal
import subprocess


def stop_group(process: subprocess.Popen, grace: float = 3.0) -> None:
    """SIGTERM the process group (processes are started with `start_new_session=True`), give it
    `grace` seconds, then SIGKILL whatever of it is left — children that ignore SIGTERM or
    outlive their leader included — and close the pipes."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()
    for stream in (process.stdin, process.stdout, process.stderr):
        if stream:
            stream.close()
