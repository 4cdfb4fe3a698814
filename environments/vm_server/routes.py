"""The routes of our VM server: OSWorld's protocol, WindowsAgentArena's and our /settle and /act, each request →
(status, body, kind)."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import time
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

import environments.vm_server.desktop_ops as desktop_ops
from environments.activity import ActivityUnavailable
from environments.tasks.accessibility import desktop_tree
from environments.tasks.errors import UnsupportedError
from environments.terminals import TerminalWindow
from environments.vm_server import typed_actions, win_agent
from environments.vm_server.http import MAX_UPLOAD, Handler, Refused, Route, Routes
from environments.vm_server.settling import DEFAULT_SECONDS, MAX_SECONDS, SETTLER

COMMAND_TIMEOUT = 120.0
MAX_WAIT = 3600.0
"""Upper bound of the waiting times a request may ask for (timeouts, verification waits)."""
CLOSE_WAIT = 3.0
"""Seconds /setup/close_all waits for the windows it asked to close."""


def _need(data: dict[str, Any], key: str) -> Any:
    if key not in data or data[key] in (None, "", []):
        raise Refused(HTTPStatus.BAD_REQUEST, f"missing {key!r}")
    return data[key]


def _need_text(data: dict[str, Any], key: str) -> str:
    value = _need(data, key)
    if not isinstance(value, str):
        raise Refused(HTTPStatus.BAD_REQUEST, f"{key!r} must be a string, got {type(value).__name__}")
    return value


def _seconds(data: dict[str, Any], key: str, default: float, most: float = MAX_WAIT) -> float:
    """A waiting time from the request: a number from 0 to `most`, else a 400."""
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= most:
        raise Refused(HTTPStatus.BAD_REQUEST, f"{key} must be a number of seconds from 0 to {most:g}, got {value!r:.40}")
    return float(value)


def acting(route: Route) -> Route:
    """A route that acts on the desktop: what happened there before it is not its effect, so the
    settle watcher forgets it first (see `environments.vm_server.settling`)."""
    @functools.wraps(route)
    def acted(h: Handler) -> tuple:
        SETTLER.before_action()
        return route(h)
    return acted


def _command(data: dict[str, Any]) -> tuple[Any, bool, TerminalWindow | None]:
    """The request's command as it runs here, whether through a shell, and the terminal window it opens.

    Every route that runs an argv maps OSWorld's Ubuntu program names (google-chrome, gnome-terminal)
    to this guest's, since on OSWorld's VM those names run from any route; a shell line runs as given,
    with scripts of those names first on its PATH (`_env`)."""
    command, shell = _need(data, "command"), bool(data.get("shell", False))
    if not isinstance(command, (str, list)) or (isinstance(command, list) and not all(isinstance(c, str) for c in command)):
        raise Refused(HTTPStatus.BAD_REQUEST, "command must be a string or a list of strings")
    if shell:
        return command, shell, None
    program = desktop_ops.program(command)
    return program.argv, shell, program.terminal


def _env(shell: bool) -> dict[str, str] | None:
    return desktop_ops.shell_env() if shell else None


def _start(h: Handler, command: Any, shell: bool, terminal: TerminalWindow | None) -> None:
    """Start a program that runs on; a terminal is started once its prompt shows (GNOME Terminal opens
    ready to type)."""
    process = subprocess.Popen(command, shell=shell, env=_env(shell), stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    with h.server.lock:
        h.server.launched.append(process)
    if terminal is not None:
        desktop_ops.TERMINALS.wait_until_ready(terminal, process)


def settle(h: Handler) -> tuple:
    """Wait until the display's applications are idle (or `max_seconds` pass) and say how it went;
    501 where this display cannot be watched (the client compares screenshots then)."""
    max_seconds = _seconds(h.json(), "max_seconds", DEFAULT_SECONDS, MAX_SECONDS)
    try:
        waited = SETTLER.settle(max_seconds)
    except ActivityUnavailable as err:
        raise Refused(HTTPStatus.NOT_IMPLEMENTED, f"settling cannot watch this display: {err}") from None
    return HTTPStatus.OK, {"seconds": round(waited.seconds, 4), "looks": waited.looks, "idle": waited.idle,
                           "changed": waited.changed}, "json"


@acting
def act(h: Handler) -> tuple:
    """One typed action, performed by this server (ours only; see `environments.vm_server.typed_actions`)."""
    typed_actions.perform(h.json())
    return HTTPStatus.OK, {"status": "success"}, "json"


def screenshot(h: Handler) -> tuple:
    return HTTPStatus.OK, desktop_ops.screenshot_png(), "png"


@acting
def execute(h: Handler) -> tuple:
    command, shell, terminal = _command(h.json())
    if terminal is not None:  # gnome-terminal returns once its window is open; its stand-in runs on
        _start(h, command, shell, terminal)
        return HTTPStatus.OK, {"status": "success", "output": "", "error": "", "returncode": 0}, "json"
    try:
        done = subprocess.run(command, shell=shell, env=_env(shell), capture_output=True, text=True,
                              errors="replace", timeout=COMMAND_TIMEOUT, stdin=subprocess.DEVNULL)
    except FileNotFoundError as err:
        return HTTPStatus.INTERNAL_SERVER_ERROR, {"status": "error", "message": f"{err.filename}: not found"}, "json"
    except subprocess.TimeoutExpired:
        return HTTPStatus.INTERNAL_SERVER_ERROR, {"status": "error", "message": f"timed out after {COMMAND_TIMEOUT:g} s"}, "json"
    return HTTPStatus.OK, {"status": "success", "output": done.stdout, "error": done.stderr, "returncode": done.returncode}, "json"


@acting
def launch(h: Handler) -> tuple:
    command, shell, terminal = _command(h.json())
    _start(h, command, shell, terminal)
    return HTTPStatus.OK, f"{command} launched successfully", "text"


@acting
def open_file(h: Handler) -> tuple:
    """Open a file and wait for a window titled with its name (or `window_name`), up to
    `timeout_seconds` (OSWorld's optional fields)."""
    data = h.json()
    path = h.server.confined(_need(data, "path"))
    if not path.exists():
        raise Refused(HTTPStatus.NOT_FOUND, f"{path} does not exist")
    window_name = _need_text(data, "window_name") if data.get("window_name") is not None else None
    desktop_ops.open_and_wait(path, window_name, _seconds(data, "timeout_seconds", desktop_ops.OPEN_TIMEOUT))
    return HTTPStatus.OK, "File opened and window activated successfully", "text"


def window(action: str):
    @acting
    def route(h: Handler) -> tuple:
        data = h.json()
        name = _need_text(data, "window_name")
        found = desktop_ops.window(action, name, bool(data.get("strict")), bool(data.get("by_class")))
        # As OSWorld's server: a name that matches no window still answers 200 (its tasks rely on it).
        return HTTPStatus.OK, f"window {action}d" if found else f"no window matches {name!r}", "text"
    return route


def _form_text(fields: dict[str, bytes], key: str) -> str:
    """A form field as text: present, non-empty UTF-8, else a 400."""
    try:
        return _need(fields, key).decode()
    except UnicodeDecodeError:
        raise Refused(HTTPStatus.BAD_REQUEST, f"{key!r} is not UTF-8 text") from None


def upload(h: Handler) -> tuple:
    fields = h.form(MAX_UPLOAD)
    path = h.server.confined(_form_text(fields, "file_path"))
    path.parent.mkdir(parents=True, exist_ok=True)
    data = fields.get("file_data", b"")
    path.write_bytes(data)
    return HTTPStatus.OK, f"File Uploaded: {len(data)} bytes", "text"


def download_file(h: Handler) -> tuple:
    data = h.json()
    path = h.server.confined(_need(data, "path"))
    path.parent.mkdir(parents=True, exist_ok=True)
    with httpx.stream("GET", _need_text(data, "url"), follow_redirects=True, timeout=300) as response:
        response.raise_for_status()
        with path.open("wb") as out:
            for chunk in response.iter_bytes(1 << 16):
                out.write(chunk)
    return HTTPStatus.OK, "File downloaded successfully", "text"


def get_file(h: Handler) -> tuple:
    path = h.server.confined(_form_text(h.form(), "file_path"))
    if not path.is_file():
        return HTTPStatus.NOT_FOUND, {"status": "error", "message": "File not found"}, "json"
    return HTTPStatus.OK, path.read_bytes(), "bytes"


def list_directory(h: Handler) -> tuple:
    path = h.server.confined(_need(h.json(), "path"))
    if not path.is_dir():
        raise Refused(HTTPStatus.NOT_FOUND, f"{path} is not a folder")
    return HTTPStatus.OK, {"directory_tree": desktop_ops.tree(path)}, "json"


def screen_size(h: Handler) -> tuple:
    width, height = desktop_ops.screen_size()
    return HTTPStatus.OK, {"width": width, "height": height}, "json"


@acting
def run_python(h: Handler) -> tuple:
    code = _need_text(h.json(), "code")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, errors="replace",
                          timeout=COMMAND_TIMEOUT, stdin=subprocess.DEVNULL)
    status = "success" if done.returncode == 0 else "error"
    message = "\n".join(part for part in (done.stdout, done.stderr) if part)
    return HTTPStatus.OK, {"status": status, "message": message, "need_more": False, "output": done.stdout,
                           "error": done.stderr, "return_code": done.returncode}, "json"


@acting
def run_bash_script(h: Handler) -> tuple:
    data = h.json()
    cwd = h.server.confined(data.get("working_dir") or "~")
    done = subprocess.run(["bash", "-c", _need_text(data, "script")], capture_output=True, text=True, errors="replace",
                          timeout=_seconds(data, "timeout", COMMAND_TIMEOUT), cwd=cwd, stdin=subprocess.DEVNULL)
    return HTTPStatus.OK, {"status": "success" if done.returncode == 0 else "error", "output": done.stdout,
                           "error": done.stderr, "returncode": done.returncode}, "json"


@acting
def execute_with_verification(h: Handler) -> tuple:
    data = h.json()
    command, shell, _terminal = _command(data)
    max_wait, interval = _seconds(data, "max_wait_time", 10.0), max(_seconds(data, "check_interval", 1.0), 0.05)
    verification = data.get("verification") or {}
    if not isinstance(verification, dict):
        raise Refused(HTTPStatus.BAD_REQUEST, "verification must be an object such as {\"window_exists\": \"title\"}")
    started = time.monotonic()
    subprocess.Popen(command, shell=shell, env=_env(shell), stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = started + max_wait
    while True:
        if desktop_ops.verified(verification):
            return HTTPStatus.OK, {"status": "success", "verification": "passed",
                                   "wait_time": round(time.monotonic() - started, 3)}, "json"
        if time.monotonic() > deadline:
            return HTTPStatus.INTERNAL_SERVER_ERROR, {"status": "error", "message": "verification failed",
                                                      "wait_time": round(time.monotonic() - started, 3)}, "json"
        time.sleep(interval)


def window_size(h: Handler) -> tuple:
    name = _form_text(h.form(), "app_class_name")
    size = desktop_ops.window_size(name)
    if size is None:
        raise Refused(HTTPStatus.NOT_FOUND, f"no window of class {name!r}")
    return HTTPStatus.OK, {"width": size[0], "height": size[1]}, "json"


def _path_field(data: dict[str, Any]) -> str:
    return _need(data, next((k for k in ("path", "file_path", "folder_path") if k in data), "path"))


def create_folder(h: Handler) -> tuple:
    h.server.confined(_path_field(h.json())).mkdir(parents=True, exist_ok=True)
    return HTTPStatus.OK, "Folder created", "text"


def create_file(h: Handler) -> tuple:
    data = h.json()
    path = h.server.confined(_path_field(data))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(str(data.get("content", "")), encoding="utf-8")
    return HTTPStatus.OK, "File created", "text"


def recycle(h: Handler) -> tuple:
    path = h.server.confined(_path_field(h.json()))
    if not path.exists():
        raise Refused(HTTPStatus.NOT_FOUND, f"{path} does not exist")
    desktop_ops.to_trash(path)
    return HTTPStatus.OK, "Moved to the trash", "text"


def exists(kind: str):
    """WAA's /file_exists and /folder_exists: `path` joined with `file_name` (`folder_name`), answered
    by status as WAA's server does: 200 when it is a file (folder), 400 when not; WAA's client reads
    only the status. Without the name, `path` itself is checked (our earlier one-field shape)."""
    name_key = f"{kind}_name"

    def route(h: Handler) -> tuple:
        data = h.json()
        path, name = _need(data, "path"), data.get(name_key, "")
        if not isinstance(name, str) or "\x00" in name:
            raise Refused(HTTPStatus.BAD_REQUEST, f"{name_key} must be a string")
        target = h.server.confined(os.path.join(path, name) if isinstance(path, str) and name else path)
        found = target.is_file() if kind == "file" else target.is_dir()
        if found:
            return HTTPStatus.OK, {"status": "success", "message": f"{target} is a {kind}"}, "json"
        return HTTPStatus.BAD_REQUEST, {"status": "error", "message": f"no {kind} {target}"}, "json"
    return route


@acting
def close_all(h: Handler) -> tuple:
    """Ask every window to close, and answer once they are gone (windows close asynchronously)
    or after `CLOSE_WAIT` seconds, naming those still open (a window may ask to save first)."""
    before = _window_ids()
    desktop_ops.close_all_windows()
    deadline = time.monotonic() + CLOSE_WAIT
    while (left := before & _window_ids()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return HTTPStatus.OK, "all windows closed" if not left else f"{len(left)} window(s) did not close", "text"


def _window_ids() -> set[str]:
    listed = subprocess.run(["wmctrl", "-l"], capture_output=True, text=True, check=False).stdout
    return {line.split()[0] for line in listed.splitlines() if line.strip()}


def terminal(h: Handler) -> tuple:
    """The text of the terminal focused in the active window, None when that window is no terminal
    (OSWorld's /terminal); a failure to read it is the protocol's 500."""
    return HTTPStatus.OK, {"output": desktop_ops.TERMINALS.focused_output(), "status": "success"}, "json"


def clear_task_files(h: Handler) -> tuple:
    return HTTPStatus.OK, "no task-file folder is configured; nothing removed", "text"


A11Y_BACKENDS = ("uia", "win32")
"""The `?backend=` values WAA's server takes (pywinauto's); anything else is its 400."""


def accessibility(h: Handler) -> tuple:
    """The desktop's AT-SPI tree as OSWorld's XML; 500 when it cannot be read, as OSWorld's server.
    WAA's `?backend=uia|win32` picks a Windows reader; on Linux WAA's server gives the AT-SPI tree
    whatever the backend, and so does this one (an unknown backend is WAA's 400)."""
    backend = parse_qs(urlsplit(h.path).query).get("backend", [None])[-1]
    if backend is not None and backend not in A11Y_BACKENDS:
        raise Refused(HTTPStatus.BAD_REQUEST,
                      f"backend must be one of {', '.join(A11Y_BACKENDS)}, got {backend!r:.40}")
    try:
        tree = desktop_tree(dict(os.environ))
    except UnsupportedError as err:
        raise Refused(HTTPStatus.NOT_IMPLEMENTED, str(err)) from None
    if tree is None:
        failed = {"status": "error", "message": "the AT-SPI tree could not be read"}
        return HTTPStatus.INTERNAL_SERVER_ERROR, failed, "json"
    return HTTPStatus.OK, {"AT": tree}, "json"


def home_folder(key: str, name: str, missing: HTTPStatus):
    """~/Desktop (/desktop_path) or ~/Documents (WAA's /documents_path); when the folder does not
    exist, the reference servers answer 404 and 400 respectively, with an `error` field."""
    def route(h: Handler) -> tuple:
        folder = Path.home() / name
        if not folder.is_dir():
            return missing, {"error": f"{folder} does not exist"}, "json"
        return HTTPStatus.OK, {key: str(folder)}, "json"
    return route


def obs_winagent(h: Handler) -> tuple:
    """WAA's observation of the active window (see `win_agent`)."""
    return HTTPStatus.OK, win_agent.observation(desktop_ops.screen_image()), "json"


def unsupported(what: str):
    def route(h: Handler) -> tuple:
        raise Refused(HTTPStatus.NOT_IMPLEMENTED, f"{what} is not available on this server")
    return route


def windows_only(what: str):
    def route(h: Handler) -> tuple:
        raise Refused(HTTPStatus.NOT_IMPLEMENTED, f"{what} exists only on WAA's Windows server; this is a Linux guest")
    return route


WINDOWS_ONLY = {
    "/execute_windows": "running Python with WAA's Windows `computer` object (its Navi agent's code actions)",
    "/update_computer": "WAA's `computer` object (which only /execute_windows acts through)",
    "/save_state": "a Windows restore point (snapshots are the VM provider's: QEMU savevm/loadvm)",
    "/revert_to_snapshot": "a Windows restore point (snapshots are the VM provider's: QEMU savevm/loadvm)",
    "/is_details_view": "File Explorer's view mode",
    "/are_files_sorted_by_modified_time": "File Explorer's sort order",
    "/is_directory_read_only_for_user": "Windows folder permissions",
    "/are_all_images_tagged": "Windows image tags",
    "/library_folders": "Windows libraries",
    "/check_if_timer_started": "the Windows Clock app's timers",
    "/check_if_world_clock_exists": "the Windows Clock app's world clocks",
}
"""WAA's routes that read or change Windows-only state: a Linux guest has none, so 501 names what is
missing (WAA's harness logs a non-200 and carries on; our client raises `VMUnsupported`)."""


GET_ROUTES = {
    "/screenshot": screenshot,
    "/platform": lambda h: (HTTPStatus.OK, "Linux", "text"),
    "/cursor_position": lambda h: (HTTPStatus.OK, list(desktop_ops.pointer()), "json"),
    "/terminal": terminal,
    "/accessibility": accessibility,
    "/probe": lambda h: (HTTPStatus.OK, {"status": "Probe successful"}, "json"),
    "/obs_winagent": obs_winagent,
}
POST_ROUTES = {
    "/execute": execute, "/setup/execute": execute, "/setup/launch": launch, "/setup/open_file": open_file,
    "/setup/activate_window": window("activate"), "/setup/close_window": window("close"),
    "/setup/upload": upload, "/setup/download_file": download_file, "/file": get_file,
    "/list_directory": list_directory, "/screen_size": screen_size,
    "/desktop_path": home_folder("desktop_path", "Desktop", HTTPStatus.NOT_FOUND),
    "/run_python": run_python, "/run_bash_script": run_bash_script,
    "/setup/close_all": close_all, "/setup/clear_task_files": clear_task_files,
    "/start_recording": unsupported("screen recording"), "/end_recording": unsupported("screen recording"),
    "/execute_with_verification": execute_with_verification,
    "/setup/execute_with_verification": execute_with_verification, "/window_size": window_size,
    "/wallpaper": unsupported("reading the wallpaper"), "/setup/change_wallpaper": unsupported("changing the wallpaper"),
    "/setup/create_folder": create_folder, "/setup/create_file": create_file, "/setup/recycle": recycle,
    "/file_exists": exists("file"), "/folder_exists": exists("folder"),
    "/documents_path": home_folder("documents_path", "Documents", HTTPStatus.BAD_REQUEST),
    "/settle": settle, "/act": act,
    **{route: windows_only(what) for route, what in WINDOWS_ONLY.items()},
}

ROUTES = Routes(GET_ROUTES, POST_ROUTES)
