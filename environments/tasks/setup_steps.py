"""OSWorld's setup step types, with its harness's semantics, run against a `TaskContext`.

`config` steps run at reset, `postconfig` steps before evaluation. A step that cannot be
carried out raises `SetupError` naming it; an unknown type raises `UnsupportedError`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from environments.tasks.context import OfflineError, TaskContext
from environments.tasks.machine import CommandResult, SetupError
from environments.tasks.model import SetupStep
from environments.tasks.registry import SETUP_STEPS, lookup, setup_step

UNTIL_INTERVAL = 0.3
UNTIL_MAX_FAILURES = 5
UNTIL_MAX_SECONDS = 120.0


def run_steps(steps: list[SetupStep], context: TaskContext) -> None:
    for index, step in enumerate(steps, 1):
        run = lookup(SETUP_STEPS, "setup step", step.type)
        try:
            run(context, dict(step.parameters))
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


def _until_met(until: dict[str, Any], result: CommandResult) -> bool:
    return (
        ("returncode" in until and result.returncode == until["returncode"])
        or ("stdout" in until and until["stdout"] in result.output)
        or ("stderr" in until and until["stderr"] in result.error)
    )


@setup_step("execute")
def execute(context: TaskContext, params: dict[str, Any]) -> None:
    """Run a command and wait for it; save stdout/stderr into the cache if named; with `until`,
    repeat every 0.3 s until a returncode/stdout/stderr condition holds (bounded)."""
    command = params.get("command")
    if not command:
        raise SetupError("empty command")
    command = placeholders(command, context)
    until: dict[str, Any] = params.get("until") or {}
    shell = bool(params.get("shell", False))
    deadline = time.monotonic() + UNTIL_MAX_SECONDS
    failures = 0
    while True:
        result = context.machine.execute(command, shell=shell)
        for key, text in (("stdout", result.output), ("stderr", result.error)):
            if params.get(key):
                (context.cache_dir / params[key]).write_text(text)
        failures += result.returncode in (-1, 127)
        if not until or _until_met(until, result) or failures >= UNTIL_MAX_FAILURES:
            return
        if time.monotonic() > deadline:
            raise SetupError(f"`until` {until} not met within {UNTIL_MAX_SECONDS:g} s")
        time.sleep(UNTIL_INTERVAL)


@setup_step("command")
def command(context: TaskContext, params: dict[str, Any]) -> None:
    execute(context, params)


@setup_step("launch")
def launch(context: TaskContext, params: dict[str, Any]) -> None:
    """Start a program and return at once (it is stopped when the task ends)."""
    command = params.get("command")
    if not command:
        raise SetupError("empty command")
    context.machine.launch(command, shell=bool(params.get("shell", False)))


@setup_step("open")
def open_file(context: TaskContext, params: dict[str, Any]) -> None:
    context.machine.open(params["path"])


@setup_step("download")
def download(context: TaskContext, params: dict[str, Any]) -> None:
    """Fetch each URL into the host cache (once), then put it at `path` on the machine."""
    for item in params["files"]:
        url, path = item.get("url"), item.get("path")
        if not url or not path:
            raise SetupError(f"download needs url and path, got {item}")
        context.machine.upload(context.fetch(url, Path(path).name), path)


@setup_step("upload_file")
def upload_file(context: TaskContext, params: dict[str, Any]) -> None:
    """Copy host files (relative to the task file) to `path` on the machine."""
    for item in params["files"]:
        source = context.resolve_local(item["local_path"])
        if not source.is_file():
            raise SetupError(f"upload_file: {item['local_path']} does not exist on this host")
        context.machine.upload(source, item["path"])


@setup_step("sleep")
def sleep(context: TaskContext, params: dict[str, Any]) -> None:
    time.sleep(float(params["seconds"]))


@setup_step("activate_window")
def activate_window(context: TaskContext, params: dict[str, Any]) -> None:
    context.machine.window_command(
        "activate", params["window_name"], bool(params.get("strict", False)), bool(params.get("by_class", False))
    )


@setup_step("close_window")
def close_window(context: TaskContext, params: dict[str, Any]) -> None:
    context.machine.window_command(
        "close", params["window_name"], bool(params.get("strict", False)), bool(params.get("by_class", False))
    )


@setup_step("chrome_open_tabs")
def chrome_open_tabs(context: TaskContext, params: dict[str, Any]) -> None:
    urls = [context.machine.localize(url) for url in params["urls_to_open"]]
    context.machine.tabs().open(urls)


@setup_step("chrome_close_tabs")
def chrome_close_tabs(context: TaskContext, params: dict[str, Any]) -> None:
    urls = [context.machine.localize(url) for url in params["urls_to_close"]]
    context.machine.tabs().close(urls)


@setup_step("create_folder")
def create_folder(context: TaskContext, params: dict[str, Any]) -> None:
    """WindowsAgentArena: make a folder (and its parents)."""
    context.machine.create_folder(params["path"])


@setup_step("recycle_file")
def recycle_file(context: TaskContext, params: dict[str, Any]) -> None:
    """WindowsAgentArena: move a file to the recycle bin (the freedesktop trash on Linux)."""
    context.machine.recycle(params["path"])


@setup_step("close_all")
def close_all(context: TaskContext, params: dict[str, Any]) -> None:
    """WindowsAgentArena: close every window."""
    context.machine.close_all()
