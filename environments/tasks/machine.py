"""The machine a task runs on, as setup steps and getters see it.

OSWorld's steps and getters talk to a VM through its HTTP server; here they talk to a
`Machine`. `LocalMachine` is this computer: a managed virtual desktop (or the current
display, or none for a browser page), with OSWorld's VM home `/home/user` mapped to a fresh
folder per task, so task files written for OSWorld's VMs run unchanged.

Task files are configuration a person chose to run, like a Makefile: their commands run.
Model output never reaches this module.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable, Protocol, Sequence

from environments.debian_programs import debian_program, opener_for
from environments.processes import stop_group
from environments.program_shims import ShimError, shell_env
from environments.session_bus import SessionBus, SessionBusError
from environments.tasks.accessibility import desktop_tree
from environments.tasks.errors import SetupError, UnsupportedError
from environments.tasks.tabs import Tabs
from environments.terminals import TerminalError, Terminals, TerminalWindow

VM_HOME = "/home/user"
"""The home folder of OSWorld's Ubuntu VM, named in most task files."""
_VM_HOME_PATTERN = re.compile(re.escape(VM_HOME) + r"(?![\w.-])")
"""/home/user as a whole path component (not the start of /home/username)."""
COMMAND_TIMEOUT = 120.0
OPEN_TIMEOUT = 30.0

Command = str | list[str]


@dataclass(frozen=True)
class CommandResult:
    returncode: int
    output: str
    error: str


class Machine(Protocol):
    """What setup steps and getters need of the machine under test."""

    screen_size: tuple[int, int]
    password: str
    cache_dir: Path

    def localize(self, text: str) -> str: ...
    def execute(self, command: Command, shell: bool = False,
                timeout: float = COMMAND_TIMEOUT) -> CommandResult: ...
    def launch(self, command: Command, shell: bool = False) -> None: ...
    def open(self, path: str) -> None: ...
    def upload(self, source: Path, path: str) -> None: ...
    def read_file(self, path: str) -> bytes | None: ...
    def window_command(self, action: str, name: str, strict: bool, by_class: bool) -> bool: ...
    def terminal_output(self) -> str | None: ...
    def accessibility_tree(self) -> str | None: ...
    def tabs(self) -> Tabs: ...
    def now(self) -> datetime: ...
    def create_folder(self, path: str) -> None: ...
    def recycle(self, path: str) -> None: ...
    def close_all(self) -> None: ...


@dataclass
class LocalMachine:
    """This computer. `display_env` is the environment of programs on the task's display
    (None: no display, e.g. a browser page); `tabs_factory` gives the browser's tabs."""

    home: Path
    cache_dir: Path
    screen_size: tuple[int, int]
    display_env: dict[str, str] | None = None
    tabs_factory: Callable[[], Tabs] | None = None
    password: str = "password"
    terminal_session: str = field(default_factory=lambda: f"kimi-task-{os.getpid()}-{time.monotonic_ns()}")
    """Name of the tmux server (`tmux -L`) of the task's terminals, one session per window."""
    devtools_port: int = 9222
    _processes: list[subprocess.Popen] = field(default_factory=list)
    _terminals: Terminals | None = None
    _bus: SessionBus | None = None

    def __post_init__(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.cache_dir.mkdir(parents=True, exist_ok=True)

    @property
    def env(self) -> dict[str, str]:
        base = dict(self.display_env if self.display_env is not None else os.environ)
        if self.display_env is None:
            base.pop("DISPLAY", None)
            return {**base, "HOME": str(self.home), "TMUX": ""}
        if self._bus is None:
            try:
                self._bus = SessionBus.start(base)
            except SessionBusError as err:
                raise SetupError(str(err)) from None
        return {**base, "HOME": str(self.home), "TMUX": "", **self._bus.env}

    def localize(self, text: str) -> str:
        """A task's path, command or URL with OSWorld's VM home (and a leading `~`) mapped here."""
        home = str(self.home)
        if text == "~" or text.startswith("~/"):
            text = home + text[1:]
        return _VM_HOME_PATTERN.sub(lambda _: home, text)

    @property
    def terminals(self) -> Terminals:
        """The task's terminals (GNOME Terminal's stand-in), on its display."""
        if self._terminals is None:
            self._terminals = Terminals(self.terminal_session, self.display_env)
        return self._terminals

    def _env_for(self, shell: bool) -> dict[str, str]:
        """The environment of a command; a shell line's finds OSWorld's Ubuntu program names first
        on its PATH (see `environments.program_shims`)."""
        if not shell:
            return self.env
        try:
            return shell_env(self.env, self.terminals)
        except ShimError as err:
            raise SetupError(str(err)) from None

    def _program(self, command: Command, shell: bool) -> tuple[Command, TerminalWindow | None]:
        """The command as it runs here (a shell line is only localized) and the terminal window it opens."""
        if shell:
            return self.localize(command if isinstance(command, str) else shlex.join(command)), None
        argv = shlex.split(command) if isinstance(command, str) else list(command)
        if not argv:
            raise SetupError("empty command")
        try:
            program = debian_program([self.localize(arg) for arg in argv], self.home, self.terminals)
        except TerminalError as err:
            raise SetupError(str(err)) from None
        if program.devtools_port is not None:
            self.devtools_port = program.devtools_port
        return program.argv, program.terminal

    def execute(self, command: Command, shell: bool = False,
                timeout: float = COMMAND_TIMEOUT) -> CommandResult:
        argv, terminal = self._program(command, shell)
        if terminal is not None:  # gnome-terminal returns once its window is open; its stand-in runs on
            self._start(argv, terminal)
            return CommandResult(0, "", "")
        try:
            process = subprocess.Popen(
                argv, shell=shell, env=self._env_for(shell), cwd=self.home, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace",
                start_new_session=True,
            )
        except FileNotFoundError as err:
            return CommandResult(127, "", f"{err.filename}: command not found")
        try:
            output, error = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            stop_group(process, grace=0.5)  # the command and everything it started
            output, _ = process.communicate()
            return CommandResult(-1, output or "", f"timed out after {timeout:g} s")
        return CommandResult(process.returncode, output, error)

    def launch(self, command: Command, shell: bool = False) -> None:
        self._start(*self._program(command, shell), shell=shell)

    def _start(self, argv: Command, terminal: TerminalWindow | None, shell: bool = False) -> None:
        """Start a program that runs on; a terminal is started once its prompt shows (GNOME Terminal
        opens ready to type)."""
        if terminal is not None and self.display_env is None:
            raise SetupError("gnome-terminal: this environment has no desktop to open a terminal on")
        try:
            process = subprocess.Popen(
                argv, shell=shell, env=self._env_for(shell), cwd=self.home, stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
            )
        except FileNotFoundError as err:
            raise SetupError(f"launch: {err.filename}: command not found") from None
        self._processes.append(process)
        if terminal is not None:
            try:
                self.terminals.wait_until_ready(terminal, process)
            except TerminalError as err:
                raise SetupError(str(err)) from None

    def open(self, path: str) -> None:
        """Open a file in the program for its kind and wait for its window (OSWorld's /setup/open_file)."""
        local = Path(self.localize(path))
        if not local.exists():
            raise SetupError(f"open: {path} does not exist")
        self.launch([*opener_for(local), str(local)])
        if self.display_env is not None:
            self._wait_for_window((local.name, local.stem))

    def _wait_for_window(self, names: Sequence[str], timeout: float = OPEN_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            titles = self.execute(["wmctrl", "-l"]).output.lower()
            if any(name.lower() in titles for name in names):
                return
            time.sleep(0.1)
        raise SetupError(f"open: no window showing {names[0]!r} appeared within {timeout:g} s")

    def upload(self, source: Path, path: str) -> None:
        target = Path(self.localize(path))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)

    def read_file(self, path: str) -> bytes | None:
        try:
            return Path(self.localize(path)).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None

    def window_command(self, action: str, name: str, strict: bool = False, by_class: bool = False) -> bool:
        """wmctrl's -a (activate) or -c (close), as OSWorld's server runs it; whether a window matched.

        Like OSWorld's server, a name that matches no window is not an error: its tasks are scored
        with setups that go on in that case."""
        if self.display_env is None:
            raise SetupError(f"{action}: this environment has no windows")
        flag = {"activate": "-a", "close": "-c"}[action]
        argv = ["wmctrl", *(["-F"] if strict else []), *(["-x"] if by_class else []), flag, name]
        return self.execute(argv).returncode == 0

    def terminal_output(self) -> str | None:
        """The text of the terminal in the focused window, as OSWorld's `/terminal`: None when the
        active window is not one of the task's terminals, or it cannot be read (OSWorld's client
        gives None when its server fails)."""
        if self.display_env is None:
            return None
        try:
            return self.terminals.focused_output()
        except TerminalError:
            return None

    def accessibility_tree(self) -> str | None:
        """The desktop's AT-SPI tree as OSWorld's XML; None when it cannot be read in time (OSWorld's
        getter gives None then). Programs this machine starts have AT-SPI on (see `SessionBus`)."""
        if self.display_env is None:
            raise UnsupportedError("the accessibility tree is the desktop's (AT-SPI); "
                                   "this environment has no desktop")
        return desktop_tree(self.env)

    def tabs(self) -> Tabs:
        if self.tabs_factory is not None:
            return self.tabs_factory()
        from environments.tasks.tabs import DevToolsTabs

        return DevToolsTabs(f"http://127.0.0.1:{self.devtools_port}")

    def now(self) -> datetime:
        return datetime.now().astimezone()

    def create_folder(self, path: str) -> None:
        Path(self.localize(path)).mkdir(parents=True, exist_ok=True)

    def recycle(self, path: str) -> None:
        """Move to the task home's freedesktop trash (WindowsAgentArena's recycle bin)."""
        source = Path(self.localize(path))
        if not source.exists():
            raise SetupError(f"recycle: {path} does not exist")
        trash = self.home / ".local" / "share" / "Trash" / "files"
        trash.mkdir(parents=True, exist_ok=True)
        shutil.move(source, trash / source.name)

    def close_all(self) -> None:
        if self.display_env is None:
            return
        for line in self.execute(["wmctrl", "-l"]).output.splitlines():
            self.execute(["wmctrl", "-ic", line.split()[0]])

    def close(self) -> None:
        """Stop every program the task started, with whatever they spawned, and the terminal's tmux server."""
        for process in reversed(self._processes):
            stop_group(process)
        self._processes.clear()
        if self._terminals is not None:
            self._terminals.stop()
            self._terminals = None
        if self._bus is not None:
            self._bus.stop()
            self._bus = None
