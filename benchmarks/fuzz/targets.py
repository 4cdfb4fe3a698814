"""Fuzz targets: each takes one input as bytes and raises `Finding` (or lets an unexpected exception
out) when the code under test misbehaves. They need no fuzzing library, so a test can run them
on seed inputs; `python -m benchmarks.fuzz` drives them with atheris (coverage-guided)."""

from __future__ import annotations

import math
import shutil
import socket
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from actions import parse_reply
from actions.errors import ActionError
from actions.models import (
    Click, Done, Drag, Fail, Hotkey, KeyDown, KeyUp, MouseDown, MouseUp, MoveTo, Press, Scroll, TypeText,
    Wait,
)
from actions.parser import MAX_ABS_NUMBER
from actions.reply import split_reply
from environments.tasks.load import TaskLoadError, load_task, load_tasks
from environments.vm_server.http import Handler, Routes, RouteServer
from environments.vm_server.routes import GET_ROUTES, POST_ROUTES

TABLE_ACTIONS = (Click, MoveTo, Drag, Scroll, TypeText, Press, Hotkey, KeyDown, KeyUp, MouseDown, MouseUp, Wait, Done, Fail)
GOOD_TASK = b'{"id": "t1", "instruction": "Open the file.", "evaluator": {"func": "infeasible"}}'


class Finding(AssertionError):
    """The code under test answered an input in a way it must not."""


def parser_target(data: bytes) -> None:
    """A reply as the model could write it: raw, in a python fence, or after a thought."""
    text = data[1:].decode("utf-8", "replace")
    shape = data[0] % 3 if data else 0
    if shape == 1:
        text = f"## Action:\nAct.\n## Code:\n```python\n{text}\n```"
    elif shape == 2:
        text = f"◁think▷{text}◁/think▷## Action:\nAct.\n## Code:\n```python\npyautogui.click(0.5, 0.5)\n```"
    try:
        split_reply(text)
        step = parse_reply(text)
    except ActionError as err:
        if not str(err):
            raise Finding(f"{type(err).__name__} without a message") from None
        return
    for action in step.actions:
        if not isinstance(action, TABLE_ACTIONS):
            raise Finding(f"an action outside the table: {action!r}")
        for point in (getattr(action, "at", None), getattr(action, "to", None)):
            if point is not None and not (math.isfinite(point.x) and math.isfinite(point.y)
                                          and abs(point.x) <= MAX_ABS_NUMBER and abs(point.y) <= MAX_ABS_NUMBER):
                raise Finding(f"a point out of range: {point!r}")


class TaskFolder:
    """A scratch folder: `examples/os/good.json` inside, `secret/os/outside.json` beside it."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="kimi-fuzz-tasks-"))
        self.examples = self.root / "examples"
        (self.examples / "os").mkdir(parents=True)
        (self.examples / "os" / "good.json").write_bytes(GOOD_TASK)
        (self.root / "secret" / "os").mkdir(parents=True)
        (self.root / "secret" / "os" / "outside.json").write_bytes(GOOD_TASK.replace(b"t1", b"secret"))
        self.file = self.root / "fuzzed.json"

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


_tasks: TaskFolder | None = None


def tasks_target(data: bytes) -> None:
    """Any bytes as a task file, and the same bytes as an index file over `examples`."""
    global _tasks
    if _tasks is None:
        _tasks = TaskFolder()
    _tasks.file.write_bytes(data)
    try:
        load_task(_tasks.file)
    except TaskLoadError as err:
        if str(_tasks.file) not in str(err):
            raise Finding(f"a task error that does not name the file: {err}") from None
    try:
        loaded = load_tasks(_tasks.file, _tasks.examples)
    except TaskLoadError:
        return
    examples = _tasks.examples.resolve()
    for task in loaded.tasks:
        if task.source_path != _tasks.file.resolve() and not task.source_path.is_relative_to(examples):
            raise Finding(f"an index id read a file outside examples/: {task.source_path}")


ALLOWED_STATUSES = {200, 400, 401, 403, 404, 408, 411, 413, 414, 415, 431, 500, 501, 505}
PROGRAMMING_ERRORS = ("TypeError", "AttributeError", "KeyError", "IndexError", "NameError", "RecursionError",
                      "UnicodeError", "UnicodeDecodeError", "UnicodeEncodeError", "AssertionError", "ValueError")
SAFE_POST_ROUTES = ("/file", "/setup/upload", "/list_directory", "/setup/create_folder", "/setup/create_file",
                    "/file_exists", "/folder_exists", "/setup/clear_task_files", "/desktop_path", "/documents_path",
                    "/wallpaper")
SAFE_GET_ROUTES = ("/platform", "/terminal", "/probe", "/accessibility")
"""Routes that touch only the served root: the fuzzer must never reach the routes that run commands
(nor /setup/recycle, which moves files into the real user's trash, or the X display's routes)."""


SAFE_ROUTES = Routes(
    {k: v for k, v in GET_ROUTES.items() if k in SAFE_GET_ROUTES}, {k: v for k, v in POST_ROUTES.items() if k in SAFE_POST_ROUTES},
)


class _SafeHandler(Handler):
    disable_nagle_algorithm = False  # the fuzzer talks over a socketpair, which has no TCP options

    def log_message(self, format: str, *args: object) -> None:
        """Silent: a line per fuzzed request would drown libFuzzer's report."""


_server: RouteServer | None = None


def server_target(data: bytes) -> None:
    """Raw bytes as one connection's requests to our VM server (command routes removed)."""
    global _server
    if _server is None:
        root = Path(tempfile.mkdtemp(prefix="kimi-fuzz-root-"))
        _server = RouteServer(("127.0.0.1", 0), None, [root], SAFE_ROUTES, body_timeout=0.5)  # bound, never served
    ours, theirs = socket.socketpair()
    try:
        theirs.sendall(data)
        theirs.shutdown(socket.SHUT_WR)
        answer: list[bytes] = []
        reader = threading.Thread(target=lambda: answer.append(_read_all(theirs)))
        reader.start()
        _SafeHandler(ours, ("127.0.0.1", 1), _server)
        ours.shutdown(socket.SHUT_RDWR)
        reader.join(timeout=10)
    finally:
        ours.close()
        theirs.close()
    _check_answers(answer[0] if answer else b"")


def _read_all(conn: socket.socket) -> bytes:
    chunks = []
    while chunk := conn.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def _check_answers(raw: bytes) -> None:
    """Walk the responses one by one (status line, headers, Content-Length body)."""
    while raw:
        head, separator, rest = raw.partition(b"\r\n\r\n")
        status_line = head.split(b"\r\n", 1)[0]
        if not separator or not status_line.startswith(b"HTTP/1.") or len(status_line) < 12:
            raise Finding(f"a malformed response: {raw[:200]!r}")
        status = int(status_line[9:12])
        if status not in ALLOWED_STATUSES:
            raise Finding(f"unexpected status {status}: {raw[:200]!r}")
        lengths = [line.split(b":", 1)[1] for line in head.split(b"\r\n")[1:] if line.lower().startswith(b"content-length:")]
        length = int(lengths[0]) if lengths else len(rest)
        body, raw = rest[:length], rest[length:]
        if status == 500 and any(f'"message": "{name}:'.encode() in body for name in PROGRAMMING_ERRORS):
            raise Finding(f"an unhandled error in a route: {body[:400]!r}")


def close() -> None:
    """Release what the targets set up on first use (the server's socket, scratch folders)."""
    global _server, _tasks
    if _server is not None:
        _server.server_close()
        for root in _server.roots:
            shutil.rmtree(root, ignore_errors=True)
        _server = None
    if _tasks is not None:
        _tasks.close()
        _tasks = None


TARGETS: dict[str, Callable[[bytes], None]] = {"parser": parser_target, "tasks": tasks_target, "server": server_target}
SEEDS: dict[str, list[bytes]] = {
    "parser": [b"\x01pyautogui.click(x=0.5, y=0.5)", b"\x00```python\nDONE\n```", b"\x02thought",
               b"\x01pyautogui.hotkey('ctrl', 'c')\npyautogui.write('hi')", b"\x01" + b"(" * 300],
    "tasks": [GOOD_TASK, b'{"os": ["good", "../secret/os/outside", "/etc/passwd"]}', b"[" * 5000, b"\xff"],
    "server": [
        b"GET /probe HTTP/1.1\r\nHost: localhost\r\n\r\n",
        b'POST /file_exists HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 20\r\n\r\n{"path": "/etc/pas"}',
        b"POST /file HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 21\r\n\r\nfile_path=..%2F..%2Fx",
        b"POST /setup/upload HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 9\r\n\r\n--b\r\n\r\n--",
        b"POST /setup/create_file HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    ],
}
