"""OSWorld's setup step types, with its harness's semantics, run against a `TaskContext`.

`config` steps run at reset, `postconfig` steps before evaluation. Every step's parameters are
validated before the first step runs (`SetupConfigError` names the task, step and field); a step
that cannot be carried out raises `SetupError` naming it; an unknown type raises `UnsupportedError`.
"""

from __future__ import annotations

import time
from pathlib import Path

from pydantic import BaseModel

from environments.tasks.context import OfflineError, TaskContext
from environments.tasks.errors import SetupError
from environments.tasks.machine import CommandResult
from environments.tasks.model import SetupStep
from environments.tasks.parameters import (
    CloseTabsParams, DownloadParams, ExecuteParams, LaunchParams, NoParams, OpenTabsParams, PathParams,
    SleepParams, Until, UploadParams, WindowParams,
)
from environments.tasks.registry import (
    SETUP_STEPS, Registered, SetupConfigError, UnsupportedError, lookup, setup_step, validated,
)

UNTIL_INTERVAL = 0.3
UNTIL_MAX_FAILURES = 5
UNTIL_MAX_SECONDS = 120.0


def prepared_step(step: SetupStep, index: int, task_id: str = "") -> tuple[Registered, BaseModel]:
    """The step's implementation and its validated parameters (`index` counts from 1; errors name `task_id`)."""
    entry = lookup(SETUP_STEPS, "setup step", step.type)
    place = f"setup step {index} ({step.type})"
    return entry, validated(entry, step.parameters, place, task_id, SetupConfigError)


def parameter_errors(steps: list[SetupStep], task_id: str = "") -> list[SetupConfigError]:
    """What `run_steps` would refuse before running anything, for every implemented step type."""
    found: list[SetupConfigError] = []
    for index, step in enumerate(steps, 1):
        try:
            prepared_step(step, index, task_id)
        except SetupConfigError as err:
            found.append(err)
        except UnsupportedError:
            continue
    return found


def run_steps(steps: list[SetupStep], context: TaskContext, task_id: str = "") -> None:
    # All parameters are checked first, so a malformed step 3 fails before steps 1 and 2 change the machine.
    prepared = [prepared_step(step, index, task_id) for index, step in enumerate(steps, 1)]
    for index, (step, (entry, params)) in enumerate(zip(steps, prepared), 1):
        try:
            entry.fn(context, params)
        except (SetupError, OfflineError, OSError, ValueError, KeyError, TypeError, ConnectionError) as err:
            raise SetupError(f"setup step {index} ({step.type}) failed: {err}") from err


def placeholders(command: str | list[str], context: TaskContext) -> str | list[str]:
    """OSWorld's placeholders: {CLIENT_PASSWORD}, {SCREEN_WIDTH}, {SCREEN_HEIGHT} and their halves."""
    width, height = context.machine.screen_size
    values = {
        "{CLIENT_PASSWORD}": context.machine.password, "{SCREEN_WIDTH_HALF}": str(width // 2),
        "{SCREEN_HEIGHT_HALF}": str(height // 2), "{SCREEN_WIDTH}": str(width), "{SCREEN_HEIGHT}": str(height),
    }

    def fill(text: str) -> str:
        for key, value in values.items():
            text = text.replace(key, value)
        return text

    return fill(command) if isinstance(command, str) else [fill(part) for part in command]


def _until_met(until: Until, result: CommandResult) -> bool:
    return (
        (until.returncode is not None and result.returncode == until.returncode)
        or (until.stdout is not None and until.stdout in result.output)
        or (until.stderr is not None and until.stderr in result.error)
    )


@setup_step("execute", ExecuteParams)
def execute(context: TaskContext, params: ExecuteParams) -> None:
    """Run a command and wait for it; save stdout/stderr into the cache if named; with `until`,
    repeat every 0.3 s until a returncode/stdout/stderr condition holds (bounded)."""
    command = placeholders(params.command, context)
    until = params.until
    deadline = time.monotonic() + UNTIL_MAX_SECONDS
    failures = 0
    while True:
        result = context.machine.execute(command, shell=params.shell)
        for name, text in ((params.stdout, result.output), (params.stderr, result.error)):
            if name:
                (context.cache_dir / name).write_text(text)
        failures += result.returncode in (-1, 127)
        if until is None or _until_met(until, result) or failures >= UNTIL_MAX_FAILURES:
            return
        if time.monotonic() > deadline:
            raise SetupError(f"`until` {until.model_dump(exclude_none=True)} not met within {UNTIL_MAX_SECONDS:g} s")
        time.sleep(UNTIL_INTERVAL)


@setup_step("command", ExecuteParams)
def command(context: TaskContext, params: ExecuteParams) -> None:
    execute(context, params)


@setup_step("launch", LaunchParams)
def launch(context: TaskContext, params: LaunchParams) -> None:
    """Start a program and return at once (it is stopped when the task ends)."""
    context.machine.launch(params.command, shell=params.shell)


@setup_step("open", PathParams)
def open_file(context: TaskContext, params: PathParams) -> None:
    context.machine.open(params.path)


@setup_step("download", DownloadParams)
def download(context: TaskContext, params: DownloadParams) -> None:
    """Fetch each URL into the host cache (once), then put it at `path` on the machine."""
    for item in params.files:
        context.machine.upload(context.fetch(item.url, Path(item.path).name), item.path)


@setup_step("upload_file", UploadParams)
def upload_file(context: TaskContext, params: UploadParams) -> None:
    """Copy host files (relative to the task file) to `path` on the machine."""
    for item in params.files:
        source = context.resolve_local(item.local_path)
        if not source.is_file():
            raise SetupError(f"upload_file: {item.local_path} does not exist on this host")
        context.machine.upload(source, item.path)


@setup_step("sleep", SleepParams)
def sleep(context: TaskContext, params: SleepParams) -> None:
    time.sleep(params.seconds)


@setup_step("activate_window", WindowParams)
def activate_window(context: TaskContext, params: WindowParams) -> None:
    context.machine.window_command("activate", params.window_name, params.strict, params.by_class)


@setup_step("close_window", WindowParams)
def close_window(context: TaskContext, params: WindowParams) -> None:
    context.machine.window_command("close", params.window_name, params.strict, params.by_class)


@setup_step("chrome_open_tabs", OpenTabsParams)
def chrome_open_tabs(context: TaskContext, params: OpenTabsParams) -> None:
    urls = [context.machine.localize(url) for url in params.urls_to_open]
    context.machine.tabs().open(urls)


@setup_step("chrome_close_tabs", CloseTabsParams)
def chrome_close_tabs(context: TaskContext, params: CloseTabsParams) -> None:
    urls = [context.machine.localize(url) for url in params.urls_to_close]
    context.machine.tabs().close(urls)


@setup_step("create_folder", PathParams)
def create_folder(context: TaskContext, params: PathParams) -> None:
    """WindowsAgentArena: make a folder (and its parents)."""
    context.machine.create_folder(params.path)


@setup_step("recycle_file", PathParams)
def recycle_file(context: TaskContext, params: PathParams) -> None:
    """WindowsAgentArena: move a file to the recycle bin (the freedesktop trash on Linux)."""
    context.machine.recycle(params.path)


@setup_step("close_all", NoParams)
def close_all(context: TaskContext, params: NoParams) -> None:
    """WindowsAgentArena: close every window."""
    context.machine.close_all()
