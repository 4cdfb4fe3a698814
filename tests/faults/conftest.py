"""Helpers for fault-injection tests: real server processes started, faulted and stopped by id."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def reply(intent: str, code: str) -> str:
    """A Kimi-VL-format reply with one action."""
    return f"◁think▷Looking at the screen.◁/think▷## Action:\n{intent}\n\n## Code:\n```python\n{code}\n```"


MOVE = reply("Move.", "pyautogui.moveTo(0.5, 0.5)")


def moves(count: int, start: int = 0) -> list[str]:
    """Replies that each move the pointer somewhere new (the same action over and over trips the runaway guard)."""
    return [reply("Move.", f"pyautogui.moveTo({0.05 + 0.003 * ((start + i) % 300):.3f}, 0.5)") for i in range(count)]
DONE = reply("Done.", 'computer.terminate(status="success", answer="finished")')


class ModelServer:
    """A SCRIPTED stand-in model server process (`agent.backends.scripted_server`) on a chosen or free port."""

    def __init__(self, folder: Path, replies: list[str] | None, *extra: str, port: int = 0) -> None:
        """`replies` is the script; None when `extra` names another source (--solutions, --always)."""
        folder.mkdir(parents=True, exist_ok=True)
        source: list[str] = []
        if replies is not None:
            script = folder / "script.json"
            script.write_text(json.dumps({"replies": replies}), encoding="utf-8")
            source = ["--script", str(script)]
        self.requests = folder / "requests.jsonl"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "agent.backends.scripted_server", *source, "--port", str(port),
             "--log-requests", str(self.requests), *extra],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT, start_new_session=True,
        )
        self.url = self.process.stdout.readline().split()[-1]
        self.base_url = self.url + "/v1"
        self.port = int(self.url.rsplit(":", 1)[-1])

    def request_count(self) -> int:
        return len(self.requests.read_text().splitlines()) if self.requests.exists() else 0

    def wait_for_requests(self, count: int, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while self.request_count() < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the model server saw {self.request_count()} of {count} requests in {timeout} s")
            time.sleep(0.02)

    def requests_about(self, text: str) -> int:
        """How many logged requests carry `text` in a user message (a task's instruction)."""
        if not self.requests.exists():
            return 0
        count = 0
        for line in self.requests.read_text().splitlines():
            messages = json.loads(line).get("messages", [])
            if any(m.get("role") == "user" and text in json.dumps(m.get("content")) for m in messages):
                count += 1
        return count

    def wait_for_request_about(self, text: str, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while self.requests_about(text) == 0:
            if time.monotonic() > deadline:
                raise TimeoutError(f"no request about {text!r} within {timeout} s")
            time.sleep(0.02)

    def kill(self) -> None:
        """SIGKILL: the server dies without closing its connections cleanly."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process.stdout.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        if not self.process.stdout.closed:
            self.process.stdout.close()


def run_env(**variables: str) -> dict[str, str]:
    """os.environ with some KIMI_AGENT_* settings for a child process."""
    return {**os.environ, **variables}


@pytest.fixture
def model_server(tmp_path: Path) -> Iterator[Callable[..., ModelServer]]:
    """Start REPLAY model servers (`model_server(replies, *args, port=...)`); all stopped at the end."""
    servers: list[ModelServer] = []

    def start(replies: list[str] | None, *extra: str, port: int = 0) -> ModelServer:
        server = ModelServer(tmp_path / f"server{len(servers)}", replies, *extra, port=port)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def descendants(pid: int) -> list[tuple[int, str]]:
    """(pid, command name) of every live process below `pid`, read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # the process ended while we looked
        children.setdefault(parent, []).append(int(entry.name))
    found: list[tuple[int, str]] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(0), []):  # breadth first: a parent before its children
            try:
                found.append((child, Path(f"/proc/{child}/comm").read_text().strip()))
            except OSError:
                continue
            todo.append(child)
    return found


def kill_descendant(pid: int, name: str, timeout: float = 30.0) -> int:
    """SIGKILL the first process named `name` below `pid` (waiting for one to appear); its pid."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for child, comm in descendants(pid):
            if comm == name:
                os.kill(child, signal.SIGKILL)
                return child
        time.sleep(0.05)
    raise TimeoutError(f"no process named {name!r} below pid {pid} within {timeout} s")
