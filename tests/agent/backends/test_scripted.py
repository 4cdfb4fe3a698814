"""The replay backend and its HTTP server (the labelled stand-in for the model)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from agent.backends.base import BackendResponseError, ScriptExhausted
from agent.backends.chat import Message, Sampling
from agent.backends.openai_compat import OpenAICompatBackend, is_serving
from agent.backends.scripted import ScriptedBackend, load_replies

ROOT = Path(__file__).resolve().parents[3]


def test_replies_come_in_order_then_run_out() -> None:
    backend = ScriptedBackend(["a", "b"])
    assert [backend.complete([], Sampling()).text for _ in range(2)] == ["a", "b"]
    with pytest.raises(ScriptExhausted):
        backend.complete([], Sampling())


def test_script_files_load(tmp_path: Path) -> None:
    script = tmp_path / "s.json"
    script.write_text(json.dumps({"instruction": "x", "replies": ["r1"]}))
    assert load_replies(script) == ["r1"]


@pytest.fixture
def server(tmp_path: Path):
    script = tmp_path / "s.json"
    script.write_text(json.dumps({"replies": ["first", "second"]}))
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent.backends.scripted_server", "--script", str(script), "--fail-first", "1",
         "--log-requests", str(tmp_path / "log.jsonl")],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    url = proc.stdout.readline().split()[-1]
    yield url, proc, tmp_path / "log.jsonl"
    proc.terminate()
    proc.wait()
    proc.stdout.close()
    proc.stderr.close()


def test_the_server_is_labelled_and_speaks_the_chat_protocol(server) -> None:
    url, proc, log = server
    assert is_serving(url + "/v1")
    backend = OpenAICompatBackend(url + "/v1", "replay", backoff=0.01)
    messages = [Message(role="user", content="hi")]
    assert backend.complete(messages, Sampling()).text == "first"  # after one injected 503
    assert backend.complete(messages, Sampling()).text == "second"
    with pytest.raises(BackendResponseError) as err:
        backend.complete(messages, Sampling())
    assert err.value.status == 410
    response = httpx.post(url + "/v1/chat/completions", content=b"{not json")
    assert response.status_code == 400
    assert response.headers["x-model-stand-in"] == "replay"
    assert len(log.read_text().splitlines()) == 4
    proc.terminate()
    assert "REPLAY server" in proc.stderr.read()
