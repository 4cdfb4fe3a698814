"""Fixtures for end-to-end runs: a real virtual X desktop and a SCRIPTED stand-in model server.

The model server here is a replay of scripted Kimi-VL-format replies (no model is used);
everything else is real: HTTP, the parser, pyautogui on Xvfb, the trajectory on disk.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from environments.virtual_desktop import VirtualDesktop

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def desktop() -> Iterator[VirtualDesktop]:
    with VirtualDesktop(1280, 800) as d:
        yield d


class ScriptedServer:
    """A running `agent.backends.scripted_server` process (a stand-in for the model)."""

    def __init__(self, replies: list[str], tmp: Path, *extra: str) -> None:
        script = tmp / "script.json"
        script.write_text(json.dumps({"replies": replies}), encoding="utf-8")
        self.requests = tmp / "requests.jsonl"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "agent.backends.scripted_server", "--script", str(script), "--port", "0",
             "--log-requests", str(self.requests), *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        )
        self.base_url = self.process.stdout.readline().split()[-1] + "/v1"

    def logged_requests(self) -> list[dict]:
        if not self.requests.exists():
            return []
        return [json.loads(line) for line in self.requests.read_text().splitlines()]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        for stream in (self.process.stdout, self.process.stderr):
            stream.close()


@pytest.fixture
def replay_server(tmp_path: Path):
    servers: list[ScriptedServer] = []

    def start(replies: list[str], *extra: str) -> ScriptedServer:
        server = ScriptedServer(replies, tmp_path, *extra)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
