"""OSWorld's setup step types, with its harness's semantics, run against a `TaskContext`.

`config` steps run at reset, `postconfig` steps before evaluation. Every step's parameters are
validated before the first step runs (`SetupConfigError` names the task, step and field); a step
that cannot be carried out raises `SetupError` naming it; an unknown type raises `UnsupportedError`.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from pydantic import BaseModel

from environments.tasks.context import OfflineError, TaskContext
from environments.tasks.errors import MachineRequestError, SetupError
from environments.tasks.getters import google_drive, windows_controller, windows_edge
from environments.tasks.getters.google_drive import AccountError
from environments.tasks.machine import CommandResult
from environments.tasks.model import SetupStep
from environments.tasks.parameters import (
    BrowseHistoryParams, CloseTabsParams, DownloadParams, ExecuteParams, GoogleDriveParams, LaunchParams,
    LoginParams, NoParams, OpenTabsParams, PathParams, SleepParams, Until, UploadParams, WindowParams,
)
from environments.tasks.registry import (
    SETUP_STEPS, Registered, SetupConfigError, UnsupportedError, lookup, setup_step, validated,
)
from environments.tasks.rules import OSWORLD_RULES, HarnessRules

UNTIL_INTERVAL = 0.3
UNTIL_MAX_FAILURES = 5
UNTIL_MAX_SECONDS = 120.0
EMPTY_HISTORY_URL = ("https://huggingface.co/datasets/xlangai/ubuntu_osworld_file_cache/resolve/main/chrome/"
                     "44ee5668-ecd5-4366-a6ce-c1c9b8d4e938/history_empty.sqlite?download=true")
"""OSWorld's empty Chrome History database, which `update_browse_history` fills."""
CHROME_EPOCH = datetime(1601, 1, 1)
TYPED_LINK = 805306368
"""The visit `transition` OSWorld writes (a link, chain start and end)."""


def prepared_step(step: SetupStep, index: int, task_id: str = "") -> tuple[Registered, BaseModel]:
    """The step's implementation and validated parameters (`index` counts from 1; errors name `task_id`)."""
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


def run_steps(steps: list[SetupStep], context: TaskContext, task_id: str = "",
              rules: HarnessRules = OSWORLD_RULES, part: str = "setup") -> list[str]:
    """Run the steps (of `part`: setup, or postconfig) in order; raises `SetupError` naming the step that
    failed. Under rules that log a request the VM server refused (WAA's), such a step is reported in
    the list returned instead."""
    # All parameters are checked first, so a malformed step 3 fails before steps 1 and 2 change the machine.
    prepared = [prepared_step(step, index, task_id) for index, step in enumerate(steps, 1)]
    logged: list[str] = []
    for index, (step, (entry, params)) in enumerate(zip(steps, prepared), 1):
        try:
            entry.fn(context, params)
        except Exception as err:
            if rules.setup_failures_logged and _refused(err):
                logged.append(f"{part} step {index} ({step.type}) failed: {err}; carried on by {rules.name}'s rules")
                continue
            if isinstance(err, (SetupError, OfflineError, OSError, ValueError, KeyError, TypeError,
                                ConnectionError, AccountError)):
                raise SetupError(f"{part} step {index} ({step.type}) failed: {err}") from err
            raise
    return logged


def _refused(err: BaseException) -> bool:
    """The machine's server refused the step's request or never got it (directly, or as the cause)."""
    return isinstance(err, MachineRequestError) or isinstance(err.__cause__, MachineRequestError)


def placeholders(command: str | list[str], context: TaskContext) -> str | list[str]:
    """OSWorld's placeholders: {CLIENT_PASSWORD}, {SCREEN_WIDTH}, {SCREEN_HEIGHT} and their halves."""
    width, height = context.machine.screen_size
    values = {
        "{CLIENT_PASSWORD}": context.machine.password, "{SCREEN_WIDTH_HALF}": str(width // 2),
        "{SCREEN_HEIGHT_HALF}": str(height // 2), "{SCREEN_WIDTH}": str(width),
        "{SCREEN_HEIGHT}": str(height),
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
            condition = until.model_dump(exclude_none=True)
            raise SetupError(f"`until` {condition} not met within {UNTIL_MAX_SECONDS:g} s")
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


@setup_step("googledrive", GoogleDriveParams)
def googledrive(context: TaskContext, params: GoogleDriveParams) -> None:
    """Prepare the Google Drive account: `delete` what a query matches, `mkdirs` a path, `upload` a URL
    to a path. OSWorld stops after the first upload; so does this."""
    if len(params.args) < len(params.operation):
        raise SetupError("googledrive: every operation needs its args")
    client = google_drive.drive(context, params.settings_file)
    for operation, args in zip(params.operation, params.args):
        path = [args.path] if isinstance(args.path, str) else list(args.path or [])
        if operation == "delete":
            google_drive.delete(client, args.query, args.trash)
        elif operation == "mkdirs":
            google_drive.make_folders(client, path)
        elif operation == "upload":
            if not args.url or not path:
                raise SetupError("googledrive upload needs url and path")
            google_drive.upload(client, args.url, path)
            return
        else:
            raise SetupError(f"googledrive: unknown operation {operation!r}")


@setup_step("login", LoginParams)
def login(context: TaskContext, params: LoginParams) -> None:
    """Sign the task's browser in to Google Drive with the email and password of the settings file."""
    if params.platform != "googledrive":
        raise SetupError(f"login: platform {params.platform!r} is not supported (only googledrive)")
    account = json.loads(google_drive.settings_path(context, params.settings_file).read_text())
    if not account.get("email") or not account.get("password"):
        raise AccountError(f"{params.settings_file}: needs an email and a password")
    from playwright.sync_api import TimeoutError as PageTimeout

    from environments.tasks.getters.web_pages import with_new_page

    def sign_in(page: object) -> None:
        page.goto("https://drive.google.com/drive/my-drive", timeout=60_000)  # type: ignore[attr-defined]
        try:  # OSWorld goes on when the form does not appear (already signed in)
            page.wait_for_selector('input[type="email"]', state="visible", timeout=3000)  # type: ignore[attr-defined]
            page.fill('input[type="email"]', account["email"])  # type: ignore[attr-defined]
            page.click("#identifierNext > div > button")  # type: ignore[attr-defined]
            page.wait_for_selector('input[type="password"]', state="visible", timeout=5000)  # type: ignore[attr-defined]
            page.fill('input[type="password"]', account["password"])  # type: ignore[attr-defined]
            page.click("#passwordNext > div > button")  # type: ignore[attr-defined]
            page.wait_for_load_state("load", timeout=5000)  # type: ignore[attr-defined]
        except PageTimeout:
            return

    with_new_page(context, sign_in)


def _chrome_history_path(context: TaskContext) -> str:
    """Where the machine's Chrome keeps History: Google Chrome's profile if installed, else Chromium's."""
    from environments.tasks.getters.desktop import home_of

    chrome = context.machine.execute(["sh", "-c", "command -v google-chrome"]).returncode == 0
    folder = ".config/google-chrome" if chrome else ".config/chromium"
    return f"{home_of(context)}/{folder}/Default/History"


def _history_with_visits(context: TaskContext, params: BrowseHistoryParams, folder: Path) -> Path:
    """OSWorld's empty History database, copied into `folder`, holding the given visits, each
    `visit_time_from_now_in_seconds` ago (Chrome time: microseconds since 1601)."""
    database = folder / "History"
    shutil.copyfile(context.fetch(EMPTY_HISTORY_URL, "history_empty.sqlite"), database)
    with sqlite3.connect(database) as connection:
        for item in params.history:
            visited = datetime.now() - timedelta(seconds=item.visit_time_from_now_in_seconds)
            stamp = int((visited - CHROME_EPOCH).total_seconds() * 1_000_000)
            row = connection.execute(
                "INSERT INTO urls (url, title, visit_count, typed_count, last_visit_time, hidden) "
                "VALUES (?, ?, 1, 0, ?, 0)", (item.url, item.title, stamp))
            connection.execute(
                "INSERT INTO visits (url, visit_time, from_visit, transition, segment_id, "
                "visit_duration) VALUES (?, ?, 0, ?, 0, 0)", (row.lastrowid, stamp, TYPED_LINK))
    connection.close()
    return database


@setup_step("update_browse_history", BrowseHistoryParams)
def update_browse_history(context: TaskContext, params: BrowseHistoryParams) -> None:
    """Replace Chrome's History with OSWorld's empty database holding the given visits."""
    with tempfile.TemporaryDirectory() as folder:
        database = _history_with_visits(context, params, Path(folder))
        context.machine.upload(database, _chrome_history_path(context))


@setup_step("update_browse_history_edge", BrowseHistoryParams)
def update_browse_history_edge(context: TaskContext, params: BrowseHistoryParams) -> None:
    """WindowsAgentArena: Edge's History replaced as `update_browse_history` replaces Chrome's, at the
    path the guest reports for its platform (OSWorld's empty database stands in for the one WAA bundles:
    both are Chrome History files without visits)."""
    vm = windows_controller.controller(context, "update_browse_history_edge")
    with tempfile.TemporaryDirectory() as folder:
        database = _history_with_visits(context, params, Path(folder))
        windows_edge.replace_edge_history(vm, database.read_bytes())
