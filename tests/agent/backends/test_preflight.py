"""Pre-flight: a wrong endpoint or model fails in seconds with one line saying what to fix (real servers)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from agent.backends.preflight import PreflightError, check_endpoints, served_models

ROOT = Path(__file__).resolve().parents[3]
# A model server that is not our stand-in: serves two names, and answers 404 elsewhere.
MODEL_SERVER = """
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args): pass
    def do_GET(self):
        if self.path == "/v1/models":
            body, status = json.dumps({"data": [{"id": "kimi-a"}, {"id": "kimi-b"}]}).encode(), 200
        else:
            body, status = b'{"error": "no route"}', 404
        self.send_response(status); self.send_header("content-length", str(len(body))); self.end_headers()
        self.wfile.write(body)
server = HTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def model_server() -> Iterator[str]:
    process = subprocess.Popen([sys.executable, "-c", MODEL_SERVER], stdout=subprocess.PIPE, text=True)
    try:
        yield f"http://127.0.0.1:{process.stdout.readline().strip()}"
    finally:
        process.kill()
        process.wait()
        process.stdout.close()


@pytest.fixture(scope="module")
def stand_in() -> Iterator[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "agent.backends.scripted_server", "--always", "x", "--port", "0", "--model",
         "replay"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        yield process.stdout.readline().split()[-1] + "/v1"
    finally:
        process.kill()
        process.wait()
        process.stdout.close()


def test_a_server_serving_the_model_passes_and_lists_its_names(model_server: str) -> None:
    assert served_models(model_server + "/v1", "kimi-b") == ("kimi-a", "kimi-b")


def test_a_model_the_server_does_not_serve_names_the_served_ones(model_server: str) -> None:
    with pytest.raises(PreflightError, match="serves kimi-a, kimi-b, not kimi-c: pass one of them with"):
        served_models(model_server + "/v1", "kimi-c")


def test_a_base_url_without_v1_is_told_to_end_in_v1(model_server: str) -> None:
    with pytest.raises(PreflightError, match="HTTP 404.*usually ending in /v1"):
        served_models(model_server, "kimi-a")


def test_the_scripted_stand_in_answers_any_model_name(stand_in: str) -> None:
    check_endpoints("openai", [stand_in], "moonshotai/Kimi-VL-A3B-Thinking-2506")


def test_a_closed_port_says_nothing_answers_at_once() -> None:
    url = f"http://127.0.0.1:{closed_port()}/v1"
    started = time.monotonic()
    with pytest.raises(PreflightError, match=f"nothing answers at {url} .*Connection refused.*kimi-agent"):
        served_models(url, "kimi")
    assert time.monotonic() - started < 2


def test_a_server_that_never_answers_fails_after_the_timeout() -> None:
    with socket.socket() as silent:  # accepts connections (the kernel does) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/v1"
        started = time.monotonic()
        with pytest.raises(PreflightError, match="did not answer GET /models within 1 s"):
            served_models(url, "kimi", timeout=1)
        assert time.monotonic() - started < 5


@pytest.mark.parametrize("url", ["not-a-url", "ftp://host/v1", "http://host:99999/v1", "http:///v1"])
def test_a_malformed_base_url_is_refused_with_an_example(url: str) -> None:
    with pytest.raises(PreflightError, match="http://127.0.0.1:8000/v1"):
        served_models(url, "kimi")


def test_backends_without_a_server_are_not_checked() -> None:
    dead = f"http://127.0.0.1:{closed_port()}/v1"
    check_endpoints("scripted", [dead], "kimi")
    check_endpoints("vllm-offline", [dead], "kimi")


def kimi_agent(*args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "agent", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    return done, time.monotonic() - started


def test_run_eval_and_ground_stop_before_any_work_on_a_dead_endpoint(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{closed_port()}/v1"
    image = tmp_path / "shot.png"
    Image.new("RGB", (64, 48)).save(image)
    for args in (
        ["run", "--env", "xvfb", "--base-url", dead, "--record", str(tmp_path / "rec"), "open the editor"],
        ["eval", "--base-url", dead, "--results", str(tmp_path / "results")],
        ["ground", str(image), "the OK button", "--base-url", dead],
    ):
        done, seconds = kimi_agent(*args)
        out = done.stdout + done.stderr
        assert done.returncode == 2, out
        assert f"nothing answers at {dead}" in out and "Traceback" not in out
        assert len(out.strip().splitlines()) <= 2, out  # the one error line (ground/eval may warn first)
        assert seconds < 60, seconds  # 13 s of retries in run, every task in eval, before pre-flight
    assert not list(tmp_path.rglob("episode.json")) and not list(tmp_path.rglob("result.txt"))


def test_run_names_the_models_a_server_serves(model_server: str, tmp_path: Path) -> None:
    done, _ = kimi_agent("run", "--env", "xvfb", "--base-url", model_server + "/v1", "--model", "kimi-c",
                         "--record", str(tmp_path), "open the editor")
    assert done.returncode == 2
    assert "serves kimi-a, kimi-b, not kimi-c" in done.stdout and "Traceback" not in done.stdout + done.stderr
