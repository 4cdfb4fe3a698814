"""Stopping a process together with everything it started, even after its owner was killed outright.

Three layers, because each alone leaves holes:
- `stop_group`: the orderly stop of a process started with `start_new_session=True` and its group.
- `die_with_parent`: PR_SET_PDEATHSIG, so a process is signalled by the kernel when the process that
  started it dies (even by SIGKILL, which runs no cleanup).
- A *mark*: an environment variable every descendant inherits (Xvfb, apps, Chromium, their helpers,
  whatever session or group they moved to). `Guardian` — a small process in its own session — waits
  for its owner to die and then stops every process that carries the owner's mark; `stop_marked`
  does the same for one worker's mark while its owner lives.
"""

from __future__ import annotations

import ctypes
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

RUN_MARK = "KIMI_AGENT_RUN"
"""Environment variable holding the token of the run a process belongs to."""
WORKER_MARK = "KIMI_AGENT_WORKER"
"""Environment variable holding the token of the worker (inside a run) a process belongs to."""
_PR_SET_PDEATHSIG = 1


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


def _prctl(option: int, value: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(option, value, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"prctl({option}) failed")


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """Ask the kernel to send `sig` to this process when its parent dies. Linux only; the parent is
    the *thread* that started it. Also usable as a `preexec_fn` for `subprocess.Popen`."""
    if sys.platform.startswith("linux"):
        _prctl(_PR_SET_PDEATHSIG, int(sig))


def new_token() -> str:
    return secrets.token_hex(8)


def marked(name: str, token: str) -> list[int]:
    """Pids of the live processes (other than this one) whose environment holds `name=token`.
    Zombies are left out: they are dead, waiting for their parent to collect them."""
    needle = f"{name}={token}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:  # gone already, or not ours to read
            continue
        if state != "Z" and needle in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def stop_marked(name: str, token: str, grace: float = 3.0) -> int:
    """SIGTERM every process marked `name=token`, wait up to `grace` s, SIGKILL what is left;
    repeated until none is left (a dying process may start another). Returns how many there were."""
    seen: set[int] = set()
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 2.0), (signal.SIGKILL, 2.0)):
        pids = marked(name, token)
        if not pids:
            break
        seen.update(pids)
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + wait
        while marked(name, token) and time.monotonic() < deadline:
            time.sleep(0.05)
    return len(seen)


class Guardian:
    """A process in its own session that outlives its owner by a few seconds: when the owner
    exits — normally, by an exception or by SIGKILL — it stops every process marked with the owner's
    run token. The owner marks its own environment, so everything it starts afterwards carries the mark."""

    def __init__(self, token: str, hold_fds: tuple[int, ...] = ()) -> None:
        """`hold_fds`: descriptors the guardian keeps open until its sweep is done (e.g. a lock,
        so no new run starts while the processes of a killed one are still being stopped)."""
        self.token = token
        os.environ[RUN_MARK] = token
        clean = {k: v for k, v in os.environ.items() if k not in (RUN_MARK, WORKER_MARK)}
        self._process = subprocess.Popen(
            [sys.executable, "-m", "environments.processes", self.token], stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, env=clean,
            cwd=Path(__file__).resolve().parents[1], pass_fds=hold_fds,
        )

    def close(self, timeout: float = 15.0) -> None:
        """The owner is done: sweep now and wait for the sweep (so nothing is left when it returns)."""
        if self._process.stdin and not self._process.stdin.closed:
            self._process.stdin.close()
        try:
            self._process.wait(timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if os.environ.get(RUN_MARK) == self.token:
            del os.environ[RUN_MARK]


def _guard(token: str) -> None:
    """The guardian's program: block until the owner's end of stdin closes, then sweep its run."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl+C is for the owner
    sys.stdin.buffer.read()
    stop_marked(RUN_MARK, token)


if __name__ == "__main__":
    _guard(sys.argv[1])
