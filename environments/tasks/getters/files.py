"""Getters that read the machine under test or fetch reference files: OSWorld's file getters.

`vm_file` and `cloud_file` take `path`/`dest` (or lists of them with `multi`) and `gives`
(which of the files reach the metric; one → a path, several → a list). A file missing on the
machine gives None, which metrics score 0.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from environments.tasks.context import TaskContext
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


@getter("vm_command_line", CommandParams)
def get_vm_command_line(context: TaskContext, params: CommandParams) -> str:
    """The standard output of a command run on the machine (whatever its exit status)."""
    return context.machine.execute(params.command, shell=params.shell).output


@getter("vm_command_error", CommandParams)
def get_vm_command_error(context: TaskContext, params: CommandParams) -> str:
    """The standard error of a command run on the machine."""
    return context.machine.execute(params.command, shell=params.shell).error


@getter("vm_terminal_output")
def get_vm_terminal_output(context: TaskContext, _params: NoParams) -> str | None:
    """The text on the task's terminal."""
    return context.machine.terminal_output()
