"""Getters that read the machine under test or fetch reference files: OSWorld's file getters.

`vm_file` and `cloud_file` take `path`/`dest` (or lists of them with `multi`) and `gives`
(which of the files reach the metric; one → a path, several → a list). A file missing on the
machine gives None, which metrics score 0.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from environments.tasks.context import TaskContext
from environments.tasks.machine import CommandResult
from environments.tasks.parameters import CacheFileParams, CommandParams, FilesParams, NoParams
from environments.tasks.registry import getter


def _given(found: list[str | None]) -> str | None | list[str | None]:
    return found[0] if len(found) == 1 else found


def _in_cache(context: TaskContext, dest: str) -> Path:
    target = (context.cache_dir / dest).resolve()
    if not target.is_relative_to(context.cache_dir.resolve()):
        raise ValueError(f"dest {dest!r} leaves the cache folder")
    return target


@getter("vm_file", FilesParams)
def get_vm_file(context: TaskContext, params: FilesParams) -> str | None | list[str | None]:
    """Copy file(s) off the machine into this run's cache; None for each one that is missing."""
    gives = set(params.gives)
    found: list[str | None] = []
    for i, (path, dest) in enumerate(params.pairs()):
        data = context.machine.read_file(path)
        target = _in_cache(context, dest)
        if data is not None:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        if i in gives:
            found.append(str(target) if data is not None else None)
    return _given(found)


@getter("cloud_file", FilesParams)
def get_cloud_file(context: TaskContext, params: FilesParams) -> str | list[str | None] | None:
    """Reference file(s) from a URL (http(s), file://, or a path beside the task file), through
    the host download cache; in offline mode only what the cache holds."""
    gives = set(params.gives)
    found: list[str | None] = []
    for i, (url, dest) in enumerate(params.pairs()):
        if i not in gives:
            continue
        target = _in_cache(context, dest)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(context.fetch(url, dest), target)
        found.append(str(target))
    return _given(found)


@getter("cache_file", CacheFileParams)
def get_cache_file(context: TaskContext, params: CacheFileParams) -> str:
    """A file a setup step wrote into this run's cache (e.g. `execute` with `stdout`)."""
    target = _in_cache(context, params.path)
    if not target.exists():
        raise FileNotFoundError(f"{params.path} is not in the task's cache")
    return str(target)


def _ran(context: TaskContext, params: CommandParams) -> CommandResult | None:
    """The command's result, or None where OSWorld's server answers 500 and its getter gives None:
    the command could not start (no such program) or outlived the server's 120 s timeout.

    `LocalMachine.execute` reports those two cases as results with its own texts (below); a VM
    server reports them with status 500, which the remote client raises with `status` 500. A shell
    command always starts, so its "command not found" is the shell's output, as in OSWorld.
    """
    try:
        result = context.machine.execute(params.command, shell=params.shell)
    except RuntimeError as err:
        if getattr(err, "status", None) == 500:
            return None
        raise
    not_started = (result.returncode == 127 and result.error.endswith(": command not found")
                   and not params.shell)
    timed_out = result.returncode == -1 and result.error.startswith("timed out after ")
    return None if not_started or timed_out else result


@getter("vm_command_line", CommandParams)
def get_vm_command_line(context: TaskContext, params: CommandParams) -> str | None:
    """The standard output of a command run on the machine (whatever its exit status); None when it
    could not start or timed out."""
    result = _ran(context, params)
    return None if result is None else result.output


@getter("vm_command_error", CommandParams)
def get_vm_command_error(context: TaskContext, params: CommandParams) -> str | None:
    """The standard error of a command run on the machine; None when it could not start or timed out."""
    result = _ran(context, params)
    return None if result is None else result.error


@getter("vm_terminal_output")
def get_vm_terminal_output(context: TaskContext, _params: NoParams) -> str | None:
    """The text of the terminal in the focused window; None when the active window is no terminal
    (OSWorld's getter, which reads its server's /terminal)."""
    return context.machine.terminal_output()
