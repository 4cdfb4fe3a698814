"""GNOME Terminal's stand-in on Debian: each window an xterm showing a tmux session of its own.

Every session of one owner (a task's machine, the VM server) lives on one tmux server of its own
(`tmux -L NAME`), so several terminals never clash, and the one in the focused window can be read
back as OSWorld's server reads GNOME Terminal's: the text of the terminal focused in the active
window, or None when the active window is not one of these terminals.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

PROMPT_TIMEOUT = 10.0
"""Seconds a new terminal may take to show its shell's prompt (about 0.2 s here, measured)."""
FOCUS_TIMEOUT = 2.0
"""Seconds to wait for the window manager to focus a new terminal, as GNOME focuses GNOME Terminal's
window; a manager that focuses no new window must not fail the launch, so this bound is short."""
QUERY_TIMEOUT = 10.0
XTERM = ("xterm", "-fa", "DejaVu Sans Mono", "-fs", "11")


class TerminalError(RuntimeError):
    """A terminal could not be opened or read; the message says why and what to install."""


@dataclass(frozen=True)
class TerminalWindow:
    """A terminal to launch: its argv (the xterm) and the tmux session it shows."""

    argv: list[str]
    session: str


@dataclass
class Terminals:
    """The terminals of one owner. `server` names its tmux server; `env` is the environment of the
    display they show on (None: this process's own)."""

    server: str
    env: Mapping[str, str] | None = None
    _numbers: Iterator[int] = field(default_factory=lambda: itertools.count(1), repr=False)

    def window(self, options: Sequence[str] = ()) -> TerminalWindow:
        """A new window for `gnome-terminal OPTIONS`: `--working-directory`, `--maximize` and a command
        after `--` are honoured, other options ignored. Its session ends when its window closes (as
        GNOME Terminal's shell does), and the server when its last session ends."""
        for program in ("xterm", "tmux"):
            if shutil.which(program) is None:
                raise TerminalError(f"gnome-terminal runs here as xterm with tmux: apt-get install {program}")
        workdir, maximize, command = _gnome_options(options)
        session = f"terminal-{os.getpid()}-{next(self._numbers)}"  # unique among processes sharing `server`
        # `env -u TMUX`: a terminal opened from inside another tmux is still a terminal of its own.
        tmux = ["env", "-u", "TMUX", "tmux", "-L", self.server, "-f", "/dev/null",
                "new-session", "-s", session, *(["-c", workdir] if workdir else []), *command,
                ";", "set-option", "-t", f"={session}:", "destroy-unattached", "on"]
        return TerminalWindow([*XTERM, *(["-maximized"] if maximize else []), "-e", *tmux], session)

    def wait_until_ready(self, window: TerminalWindow, process: subprocess.Popen,
                         timeout: float = PROMPT_TIMEOUT) -> None:
        """Return once the launched terminal shows its prompt (GNOME Terminal opens ready to type)
        and, under a window manager that focuses new windows, has the focus."""
        deadline = time.monotonic() + timeout
        while not (self.session_text(window.session) or "").strip():
            if process.poll() is not None:
                raise TerminalError(f"the terminal exited with status {process.returncode} before its prompt")
            if time.monotonic() > deadline:
                raise TerminalError(f"the terminal did not show a prompt within {timeout:g} s")
            time.sleep(0.05)
        focus_deadline = time.monotonic() + FOCUS_TIMEOUT
        while self._active_window_pid() != process.pid and time.monotonic() < focus_deadline:
            time.sleep(0.05)

    def focused_output(self) -> str | None:
        """The text of the terminal in the active window, trailing whitespace stripped; None when the
        active window is none of these terminals (OSWorld's `/terminal`)."""
        window_pid = self._active_window_pid()
        if window_pid is None:
            return None
        for client_pid, session in self._clients():
            if _parent_pid(client_pid) == window_pid:  # the tmux client that this xterm runs
                text = self.session_text(session)
                return None if text is None else text.rstrip()
        return None

    def session_text(self, session: str) -> str | None:
        """What `session` shows (wrapped lines joined); None when it does not exist."""
        done = self._tmux("capture-pane", "-p", "-J", "-t", f"={session}:")
        return done.stdout if done.returncode == 0 else None

    def stop(self) -> None:
        """Stop the tmux server with every session and shell on it, whichever process opened them, and
        remove its socket (tmux 3.3 leaves it behind)."""
        if shutil.which("tmux") is not None:
            self._tmux("kill-server")
        env = self.env if self.env is not None else os.environ
        (Path(env.get("TMUX_TMPDIR") or "/tmp") / f"tmux-{os.getuid()}" / self.server).unlink(missing_ok=True)

    def _clients(self) -> list[tuple[int, str]]:
        """(pid, session) of every tmux client attached to this server; none when it is not running."""
        done = self._tmux("list-clients", "-F", "#{client_pid} #{session_name}")
        if done.returncode != 0:
            return []
        pairs = (line.split(" ", 1) for line in done.stdout.splitlines())
        return [(int(pid), session) for pid, session in pairs if pid.isdigit()]

    def _active_window_pid(self) -> int | None:
        """The process that owns the active window (its _NET_WM_PID); None without an active window."""
        done = _run(["xdotool", "getactivewindow", "getwindowpid"], self.env, "xdotool")
        text = done.stdout.strip()
        return int(text) if done.returncode == 0 and text.isdigit() else None

    def _tmux(self, *args: str) -> subprocess.CompletedProcess[str]:
        return _run(["tmux", "-L", self.server, *args], self.env, "tmux")


def _run(argv: list[str], env: Mapping[str, str] | None, package: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(argv, env=None if env is None else dict(env), capture_output=True, text=True,
                              errors="replace", timeout=QUERY_TIMEOUT, stdin=subprocess.DEVNULL, check=False)
    except FileNotFoundError:
        raise TerminalError(f"{argv[0]} is missing: apt-get install {package}") from None
    except subprocess.TimeoutExpired:
        raise TerminalError(f"{argv[0]} {argv[1]} did not answer within {QUERY_TIMEOUT:g} s") from None


def _parent_pid(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])  # after the command name (it may hold spaces): state, ppid


def _gnome_options(options: Sequence[str]) -> tuple[str | None, bool, list[str]]:
    """(working directory, maximized, command) from gnome-terminal's options."""
    args, command = list(options), []
    if "--" in args:
        at = args.index("--")
        args, command = args[:at], args[at + 1:]
    workdir, maximize = None, False
    for i, arg in enumerate(args):
        if arg.startswith("--working-directory="):
            workdir = arg.split("=", 1)[1]
        elif arg == "--working-directory" and i + 1 < len(args):
            workdir = args[i + 1]
        elif arg in ("--maximize", "--full-screen"):
            maximize = True
    return workdir, maximize, command
