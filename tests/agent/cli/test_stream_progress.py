"""Streamed answers from the CLI: `run --stream` records the same completion as an unstreamed run, and on a
terminal the spinner counts the tokens as they arrive (thinking, then the answer); without a terminal
there is no spinner and answers are not streamed unless asked."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.backends.chat import Message, Sampling
from agent.backends.openai_compat import OpenAICompatBackend, StreamProgress
from agent.backends.scripted import ScriptedBackend, load_replies
from agent.backends.scripted_server import ScriptedServer as StandIn
from agent.backends.scripted_server import _Handler
from tests.agent.cli.terminal import run_on_a_terminal
from tests.agent.conftest import instruct, thinking
from tests.e2e.conftest import ROOT

PACE = 0.05
"""Seconds between streamed events: the stand-in otherwise sends a whole answer at once."""
THOUGHT = "The desktop is empty, so I look for the middle of the screen before I click it. " * 12
REPLIES = [
    {"content": instruct("", "Click the middle.", "pyautogui.click(x=0.5, y=0.5)"),
     "reasoning_content": THOUGHT},
    instruct("Done.", "Finish.", 'computer.terminate(status="success", answer="ok")'),
]
COMPLETION_FIELDS = ("text", "reasoning", "finish_reason", "usage", "stand_in")


class _PacedHandler(_Handler):
    """The stand-in's handler, writing a streamed answer one event at a time as a model server does."""

    def _raw(self, status, data, length=None, headers=None, content_type="application/json") -> None:
        if content_type != "text/event-stream":
            super()._raw(status, data, length, headers, content_type)
            return
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(data)))
        self.send_header("x-model-stand-in", "replay")
        self.end_headers()
        for event in data.split(b"\n\n"):
            if event:
                self.wfile.write(event + b"\n\n")
                self.wfile.flush()
                time.sleep(PACE)


class PacedServer:
    """The scripted stand-in server in a thread of this process, streaming at PACE."""

    def __init__(self, replies: list, tmp: Path) -> None:
        tmp.mkdir(parents=True, exist_ok=True)
        script = tmp / "script.json"
        script.write_text(json.dumps({"replies": replies}), encoding="utf-8")
        self.requests = tmp / "requests.jsonl"
        backend = ScriptedBackend(load_replies(script))
        self.server = StandIn(("127.0.0.1", 0), backend, "replay", self.requests, 0)
        self.server.RequestHandlerClass = _PacedHandler
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        host, port = self.server.server_address[:2]
        self.base_url = f"http://{host}:{port}/v1"

    def streamed(self) -> list[bool]:
        """Whether each chat request asked for a streamed answer."""
        lines = self.requests.read_text().splitlines() if self.requests.exists() else []
        return [json.loads(line).get("stream") is True for line in lines]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@pytest.fixture
def paced(tmp_path: Path) -> Iterator[PacedServer]:
    server = PacedServer(REPLIES, tmp_path)
    yield server
    server.stop()


def _ask(server: PacedServer, stream: bool, seen: list[StreamProgress]):
    backend = OpenAICompatBackend(server.base_url, "replay", stream=stream, on_progress=seen.append,
                                  max_retries=0)
    try:
        return backend.complete([Message(role="user", content="hi")], Sampling())
    finally:
        backend.close()


def test_the_client_reports_thinking_then_answer_tokens_as_they_arrive(
    paced: PacedServer, tmp_path: Path
) -> None:
    seen: list[StreamProgress] = []
    streamed = _ask(paced, True, seen)
    thought = [p for p in seen if not p.answering]
    assert len(thought) == -(-len(THOUGHT) // 24)  # one delta per 24 characters (the stand-in's piece)
    assert [p.thinking_tokens for p in thought] == list(range(1, len(thought) + 1))
    assert seen[-1].answer_tokens > 0 and seen[-1].thinking_chars == len(THOUGHT)
    assert seen[-1].answer_chars == len(streamed.text)
    fresh = PacedServer(REPLIES, tmp_path / "fresh")  # the same first reply, unstreamed
    try:
        unstreamed = _ask(fresh, False, [])
    finally:
        fresh.stop()
    fields = set(COMPLETION_FIELDS)
    assert streamed.model_dump(include=fields) == unstreamed.model_dump(include=fields)


def test_an_inline_think_block_counts_as_thinking(tmp_path: Path) -> None:
    reply = thinking("Look at the screen first. " * 4, "Click.", "pyautogui.click(x=0.5, y=0.5)")
    server = PacedServer([reply], tmp_path)
    seen: list[StreamProgress] = []
    try:
        completion = _ask(server, True, seen)
    finally:
        server.stop()
    assert completion.text == reply
    answer_starts = next(i for i, p in enumerate(seen) if p.answering)
    assert answer_starts >= 4 and seen[answer_starts - 1].thinking_tokens == answer_starts
    thought_part = reply[: reply.index("◁/think▷") + len("◁/think▷")]
    assert len(thought_part) <= seen[-1].thinking_chars < len(thought_part) + 24


def _run_args(server: PacedServer, record: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "agent", "run", "--env", "xvfb", "--size", "640x400",
            "--base-url", server.base_url, "--model", "replay", "--record", str(record), "--no-panic-key",
            *extra, "click the middle"]


def _completions(record: Path) -> list[dict]:
    [folder] = list(record.iterdir())
    steps = [json.loads(line) for line in (folder / "trajectory.jsonl").read_text().splitlines()]
    return [{k: step["response"].get(k) for k in COMPLETION_FIELDS} for step in steps]


@pytest.mark.desktop
def test_a_streamed_run_records_what_an_unstreamed_one_does_and_prints_no_spinner(tmp_path: Path) -> None:
    records = {}
    for flag in ("--stream", "--no-stream", None):
        server = PacedServer(REPLIES, tmp_path / str(flag))
        record = tmp_path / str(flag) / "rec"
        try:
            done = subprocess.run(_run_args(server, record, *([flag] if flag else [])), cwd=ROOT,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=180,
                                  check=False)
        finally:
            server.stop()
        assert done.returncode == 0, done.stdout
        assert "model is" not in done.stdout and "\x1b[" not in done.stdout
        assert server.streamed() == [flag == "--stream"] * 2  # not a terminal: no streaming unless asked
        assert ("answers streamed" in done.stdout) == (flag == "--stream")
        records[flag] = _completions(record)
    assert records["--stream"] == records["--no-stream"] == records[None]
    first = records["--stream"][0]
    assert first["reasoning"] == THOUGHT and first["usage"]["completion_tokens"] > 0


def test_stream_is_refused_for_a_backend_that_cannot_stream(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"replies": ["x"]}), encoding="utf-8")
    args = ["run", "--backend", "scripted", "--script", str(script), "--stream", "x"]
    done = subprocess.run([sys.executable, "-m", "agent", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 2 and "Traceback" not in done.stdout + done.stderr
    assert "--stream" in done.stdout + done.stderr


@pytest.mark.desktop
def test_on_a_terminal_the_spinner_counts_streamed_tokens(paced: PacedServer, tmp_path: Path) -> None:
    returncode, text = run_on_a_terminal(_run_args(paced, tmp_path / "rec"), ROOT, timeout=180)
    assert returncode == 0, text
    assert paced.streamed() == [True, True]  # on a terminal answers are streamed by default
    counts = [int(n) for n in re.findall(r"step 1: the model is thinking… [0-9.]+ s, ([0-9]+) tokens?", text)]
    assert len(set(counts)) >= 3 and counts == sorted(counts), text  # the count grew while the model thought
    answering = r"step 1: the model is answering… [0-9.]+ s, [0-9]+ tokens? of thinking, [0-9]+ tokens?"
    assert re.search(answering, text)
    assert "answers streamed" in text
    _completions(tmp_path / "rec")  # the trajectory was written
