"""Scripts named like OSWorld's Ubuntu programs (`gnome-terminal`, `google-chrome`) that run Debian's,
for shell lines: OSWorld's tasks also start them inside `execute` shell commands (seven multi_apps
tasks run `gnome-terminal --maximize --working-directory=…` that way), which are not mapped word by
word as an argv is. `shell_env` puts a folder of them first on a shell line's PATH.

A script runs `main`: like GNOME Terminal's own client it returns once the window is open, and the
terminal runs on, on the tmux server its owner named in `TERMINALS_VARIABLE`."""

from __future__ import annotations

import hashlib
import os
import shlex
import stat
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from environments.debian_programs import CHROME_NAMES, TERMINAL_NAMES, debian_program
from environments.terminals import Terminals

SHIMMED = tuple(name for name in (*TERMINAL_NAMES, *CHROME_NAMES) if not name.startswith("chromium"))
"""Ubuntu's names only: Debian's own `chromium` stays itself."""
TERMINALS_VARIABLE = "KIMI_TERMINALS_SERVER"
"""Set by the owner (a task's machine, the VM server) in a shell line's environment: its tmux server.
Plumbing between our own processes, not a user setting."""


class ShimError(RuntimeError):
    """The scripts' folder cannot be trusted; the message says which to remove."""


def shell_env(env: Mapping[str, str], terminals: Terminals) -> dict[str, str]:
    """`env` for a shell line: the scripts first on PATH, and the owner's terminals named."""
    path = os.pathsep.join([str(shim_folder()), env.get("PATH", os.defpath)])
    return {**env, "PATH": path, TERMINALS_VARIABLE: terminals.server}


def shim_folder() -> Path:
    """The scripts' folder for this interpreter and project: the same content for every owner, so one
    folder in the temporary directory serves all and is rewritten only when it differs."""
    project = str(Path(__file__).resolve().parents[1])
    # The project goes on sys.path, not on PYTHONPATH, which the programs started would inherit.
    code = f"import sys; sys.path.insert(0, {project!r}); from environments.program_shims import main; main()"
    key = hashlib.sha256(f"{sys.executable}\0{code}".encode()).hexdigest()[:12]
    folder = Path(tempfile.gettempdir()) / f"kimi-shims-{os.getuid()}-{key}"
    folder.mkdir(mode=0o755, exist_ok=True)
    info = folder.lstat()  # a shared temporary directory: anyone could have made this folder first
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o022:
        raise ShimError(f"{folder} is not a folder only this user can write: remove it")
    for name in SHIMMED:
        text = f"#!/bin/sh\nexec {shlex.quote(sys.executable)} -c {shlex.quote(code)} {name} \"$@\"\n"
        script = folder / name
        if not script.exists() or script.read_text() != text:
            handle, draft = tempfile.mkstemp(dir=folder, prefix=f".{name}.")
            with os.fdopen(handle, "w") as out:
                out.write(text)
            os.chmod(draft, 0o755)
            os.replace(draft, script)  # never a half-written script, with owners writing at once
    return folder


def main(argv: list[str] | None = None) -> None:
    """Run `NAME ARGS…` (Ubuntu's program name first) as Debian's program; exit with a message on failure."""
    name, *args = argv if argv is not None else sys.argv[1:]
    terminals = Terminals(os.environ.get(TERMINALS_VARIABLE, ""))
    try:
        program = debian_program([name, *args], Path.home(), terminals)
        if program.terminal is None:
            os.execv(program.argv[0], program.argv)
        if not terminals.server:
            sys.exit(f"{name}: {TERMINALS_VARIABLE} is not set: run me from a task's shell line")
        process = subprocess.Popen(program.argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
        terminals.wait_until_ready(program.terminal, process)
    except (RuntimeError, OSError) as err:  # TerminalError, BrowserStartError, a failed exec
        sys.exit(f"{name}: {err}")
