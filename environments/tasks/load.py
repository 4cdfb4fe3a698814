"""Loading tasks from a task file, a folder of them, or an index file (`{"domain": [ids]}`)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from actions.errors import first_error
from environments.tasks.model import Task


class TaskLoadError(ValueError):
    """A task file that is not valid JSON or not a task; the message names the file and why."""


_JSON_ERRORS = (UnicodeDecodeError, ValueError, RecursionError)
"""What reading untrusted JSON can raise: JSONDecodeError and over-long integers are ValueErrors,
over-deep nesting is a RecursionError."""
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,199}")
"""A domain or task id from an index file: one plain file-name component, so it cannot leave `examples`."""


@dataclass(frozen=True)
class LoadFailure:
    path: Path
    reason: str


@dataclass(frozen=True)
class LoadedTasks:
    tasks: list[Task]
    failures: list[LoadFailure]


def load_task(path: Path, domain: str | None = None) -> Task:
    """One task file; its domain defaults to the name of its folder."""
    data = _read_json(path)
    if not isinstance(data, dict):
        raise TaskLoadError(f"{path}: a task file holds a JSON object")
    try:
        task = Task.model_validate(data)
    except ValidationError as err:
        raise TaskLoadError(f"{path}: {first_error(err)} ({err.error_count()} problem(s))") from None
    return task.model_copy(
        update={"domain": domain if domain is not None else path.parent.name, "source_path": path.resolve()}
    )


def is_index(data: object) -> bool:
    """An index file maps domains to lists of task ids."""
    return isinstance(data, dict) and bool(data) and all(
        isinstance(v, list) and all(isinstance(i, str) for i in v) for v in data.values()
    )


def load_tasks(path: Path, examples: Path | None = None) -> LoadedTasks:
    """Every task under `path`: a task file, a folder (recursively), or an index file.

    Index files are resolved against `examples` (default: the `examples` folder beside the
    index); inside a folder, index files are skipped rather than read as tasks.
    """
    tasks: list[Task] = []
    failures: list[LoadFailure] = []

    def add(file: Path, domain: str | None = None) -> None:
        try:
            tasks.append(load_task(file, domain))
        except TaskLoadError as err:
            failures.append(LoadFailure(file, str(err)))

    if path.is_dir():
        for file in sorted(path.rglob("*.json")):
            if not _looks_like_index(file):
                add(file)
        return LoadedTasks(tasks, failures)
    if not path.exists():
        raise TaskLoadError(f"{path}: no such file or folder")
    data = _read_json(path)
    if is_index(data):
        root = examples or path.parent / "examples"
        for domain, ids in data.items():
            for task_id in ids:
                if not (_NAME.fullmatch(domain) and _NAME.fullmatch(task_id)):
                    failures.append(LoadFailure(root, f"{path.name}: {domain!r}/{task_id!r} is not a plain domain "
                                                      "and task id (letters, digits, '_', '-', '.'); skipped"))
                    continue
                file = root / domain / f"{task_id}.json"
                if file.is_file():
                    add(file, domain)
                else:
                    failures.append(LoadFailure(file, f"{file}: listed in {path.name} but missing"))
        return LoadedTasks(tasks, failures)
    add(path)
    return LoadedTasks(tasks, failures)


MAX_TASK_BYTES = 16 * 1024 * 1024
"""OSWorld's largest task file is a few KiB; anything this big is not a task."""


def _read_json(path: Path) -> object:
    if path.exists() and not path.is_file():  # a FIFO or a device would block or never end
        raise TaskLoadError(f"{path}: not a regular file")
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_TASK_BYTES + 1)
    except OSError as err:
        raise TaskLoadError(f"{path}: cannot read it ({err.strerror or err})") from None
    if len(data) > MAX_TASK_BYTES:
        raise TaskLoadError(f"{path}: over {MAX_TASK_BYTES // 2**20} MiB, too big for a task file")
    try:
        return json.loads(data.decode("utf-8"))
    except _JSON_ERRORS as err:
        reason = str(err) or type(err).__name__
        raise TaskLoadError(f"{path}: not readable JSON ({reason})") from None


def _looks_like_index(file: Path) -> bool:
    try:
        return is_index(_read_json(file))
    except TaskLoadError:
        return False
