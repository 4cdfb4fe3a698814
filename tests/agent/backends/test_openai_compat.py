"""The OpenAI-compatible client against real server processes on loopback."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent.backends.base import BackendResponseError, BackendTimeout, BackendUnavailable
from agent.backends.chat import ImagePart, ImageURL, Message, Sampling, TextPart
from agent.backends.openai_compat import OpenAICompatBackend, is_serving

ROOT = Path(__file__).resolve().parents[3]
MESSAGES = [
    Message(role="system", content="s"),
    Message(role="user", content=(TextPart(text="t"), ImagePart(image_url=ImageURL(url="data:image/jpeg;base64,AAAA")))),
]


@pytest.fixture
def fake_server():
    processes = []

    def start(mode: str) -> str:
        proc = subprocess.Popen([sys.executable, "-m", "tests.agent.backends.fake_servers", mode], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        processes.append(proc)
        return proc.stdout.readline().split()[-1] + "/v1"

    yield start
    for proc in processes:
        proc.kill()
        proc.wait()
        proc.stdout.close()


def client(url: str, **kwargs) -> OpenAICompatBackend:
    return OpenAICompatBackend(url, "m", backoff=0.05, **kwargs)


def test_a_completion_with_usage(fake_server) -> None:
    completion = client(fake_server("ok")).complete(MESSAGES, Sampling())
    assert completion.text == "ok" and completion.finish_reason == "stop"
    assert completion.usage.prompt_tokens == 10 and completion.usage.cached_tokens == 7
    assert completion.seconds > 0


def test_reasoning_content_is_kept_apart(fake_server) -> None:
    completion = client(fake_server("reasoning")).complete(MESSAGES, Sampling())
    assert (completion.text, completion.reasoning) == ("answer", "thought")


def test_5xx_is_retried(fake_server) -> None:
    assert client(fake_server("flaky"), max_retries=3).complete(MESSAGES, Sampling()).text == "ok"


def test_429_waits_for_retry_after(fake_server) -> None:
    backend = client(fake_server("rate_limited"))
    started = time.monotonic()
    assert backend.complete(MESSAGES, Sampling()).text == "ok"
    assert time.monotonic() - started >= 0.9


def test_4xx_fails_at_once_with_the_servers_message(fake_server) -> None:
    with pytest.raises(BackendResponseError, match="max_tokens is too large") as err:
        client(fake_server("bad_request")).complete(MESSAGES, Sampling())
    assert err.value.status == 400


@pytest.mark.parametrize("mode", ["garbage", "no_choices"])
def test_malformed_answers_are_typed_errors(fake_server, mode: str) -> None:
    with pytest.raises(BackendResponseError):
        client(fake_server(mode)).complete(MESSAGES, Sampling())


def test_cut_off_replies_are_flagged(fake_server) -> None:
    assert client(fake_server("cut_off")).complete(MESSAGES, Sampling()).cut_off


def test_timeouts_are_retried_then_reported(fake_server) -> None:
    with pytest.raises(BackendTimeout):
        client(fake_server("slow"), timeout=0.3, max_retries=1).complete(MESSAGES, Sampling())


def test_connection_refused_is_reported_after_bounded_retries() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(BackendUnavailable, match="is the model server running"):
        client(f"http://127.0.0.1:{port}/v1", max_retries=2).complete(MESSAGES, Sampling())
    assert time.monotonic() - started < 5
    assert not is_serving(f"http://127.0.0.1:{port}/v1")
