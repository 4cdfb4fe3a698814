"""Running a command on a pseudo-terminal, as a person at a terminal would, and reading what it showed."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import time
from pathlib import Path


def run_on_a_terminal(argv: list[str], cwd: Path, timeout: float = 120) -> tuple[int | None, str]:
    """`argv` with stdin, stdout and stderr on a pty (TERM set, 120 columns): its exit status and output."""
    main, child = pty.openpty()
    try:
        run = subprocess.Popen(argv, cwd=cwd, stdin=child, stdout=child, stderr=child,
                               env={**os.environ, "TERM": "xterm-256color", "COLUMNS": "120"})
        os.close(child)
        seen = b""
        deadline = time.monotonic() + timeout
        while run.poll() is None and time.monotonic() < deadline:
            if select.select([main], [], [], 0.2)[0]:
                try:
                    seen += os.read(main, 65536)
                except OSError:  # the child side closed
                    break
        run.wait(timeout=30)
    finally:
        os.close(main)
    return run.returncode, seen.decode("utf-8", "replace")
