"""One writer per results folder: an `fcntl` lock on `RESULTS/.lock`, which also says who holds it.

The kernel drops the lock when its holder dies (even by SIGKILL), so a stale lock file never
blocks a rerun; its text (pid, host, start time) only serves the message to a second `eval`.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from pathlib import Path

LOCK_FILE = ".lock"
DYING_WAIT = 20.0
"""Seconds to wait for the lock of a killed eval while its guardian stops the processes it left."""


class FolderLocked(RuntimeError):
    """Another eval writes this folder; the message names it."""


class ResultsLock:
    def __init__(self, results: Path, run_token: str = "") -> None:
        self.path = results / LOCK_FILE
        self.run_token = run_token
        self._fd: int | None = None

    def acquire(self, dying_wait: float = DYING_WAIT) -> ResultsLock:
        """Take the lock, or raise FolderLocked naming its holder. A holder that is dead already
        (killed; its guardian still stopping its processes) is waited for up to `dying_wait` s."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + dying_wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if _holder_is_dead(fd) and time.monotonic() < deadline:
                    time.sleep(0.2)
                    continue
                holder = _holder(fd)
                os.close(fd)
                raise FolderLocked(f"{self.path.parent} is being written by another eval ({holder}); "
                                   "wait for it, stop it, or use another --results folder") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started_at": time.time(),
                                  "run": self.run_token}).encode() + b"\n", 0)
        self._fd = fd
        return self

    @property
    def fd(self) -> int | None:
        return self._fd

    def release(self) -> None:
        """Close our descriptor (the lock file stays: unlinking it would race a waiting eval). The
        lock itself is free once every process holding the descriptor (see `Guardian`) has closed it."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> ResultsLock:
        return self.acquire()

    def __exit__(self, *_: object) -> None:
        self.release()


def _holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0) or b"{}")
        since = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(float(info["started_at"])))
        return f"pid {info['pid']} on {info['host']}, since {since}"
    except (OSError, ValueError, KeyError, TypeError):
        return "holder unknown"


def _holder_is_dead(fd: int) -> bool:
    try:
        info = json.loads(os.pread(fd, 4096, 0) or b"{}")
        if info["host"] != socket.gethostname():
            return False
        os.kill(int(info["pid"]), 0)
    except ProcessLookupError:
        return True
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return False
