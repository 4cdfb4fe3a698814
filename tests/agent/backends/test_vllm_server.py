"""Supervising `vllm serve`: the command line, health wait, crash detection and clean stop,
with a fake `vllm` executable (no GPU here)."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

from agent.backends.checkpoints import checkpoint_for, default_sampling
from agent.backends.vllm_server import ServeConfig, ServerStartError, VLLMServer

FAKE_VLLM = """#!{python}
import sys, http.server, json
args = sys.argv[1:]
print("fake vllm", " ".join(args), flush=True)
if "--crash" in args:
    print("CUDA out of memory while profiling the vision encoder", flush=True)
    sys.exit(3)
port = int(args[args.index("--port") + 1])
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        body = b"{{}}" if self.path == "/health" else json.dumps({{"data": [{{"id": "kimi"}}]}}).encode()
        self.send_response(200); self.send_header("content-length", str(len(body))); self.end_headers(); self.wfile.write(body)
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def fake_vllm(tmp_path: Path) -> str:
    exe = tmp_path / "vllm"
    exe.write_text(FAKE_VLLM.format(python=sys.executable))
    exe.chmod(0o755)
    return str(exe)


def test_command_line_follows_kimi_vl_serving_notes() -> None:
    argv = ServeConfig(served_name="kimi", max_num_batched_tokens=4096, max_num_seqs=2).command()
    assert argv[:4] == ["vllm", "serve", "moonshotai/Kimi-VL-A3B-Thinking-2506", "--trust-remote-code"]
    joined = " ".join(argv)
    assert "--served-model-name kimi" in joined
    assert "--max-num-batched-tokens 8192" in joined  # never below 8192
    assert '--limit-mm-per-prompt {"image": 8}' in joined
    assert "--max-num-seqs 2" in joined


def test_start_waits_for_health_and_stop_ends_the_process(fake_vllm: str, tmp_path: Path) -> None:
    server = VLLMServer(ServeConfig(port=free_port(), vllm_executable=fake_vllm), tmp_path / "serve.log")
    with server:
        process = server.process
        assert process.poll() is None
    assert process.poll() is not None
    assert "fake vllm serve" in (tmp_path / "serve.log").read_text()


def test_an_early_crash_is_reported_with_the_log_tail(fake_vllm: str, tmp_path: Path) -> None:
    server = VLLMServer(ServeConfig(port=free_port(), vllm_executable=fake_vllm, extra_args=("--crash",)), tmp_path / "serve.log")
    with pytest.raises(ServerStartError, match="out of memory"):
        server.start(timeout=30)


def test_a_missing_vllm_says_how_to_install_it(tmp_path: Path) -> None:
    server = VLLMServer(ServeConfig(vllm_executable=str(tmp_path / "nope")), tmp_path / "serve.log")
    with pytest.raises(ServerStartError, match=r"\[vllm\]"):
        server.start(timeout=5)


def test_sampling_defaults_per_checkpoint() -> None:
    assert default_sampling("moonshotai/Kimi-VL-A3B-Thinking-2506").temperature == 0.8
    assert default_sampling("moonshotai/Kimi-VL-A3B-Instruct").temperature == 0.2
    assert default_sampling("Kimi-VL-A3B-Instruct").stop == ("<|im_end|>",)
    assert checkpoint_for("moonshotai/Kimi-VL-A3B-Thinking-2506").max_patches == 16384
    assert checkpoint_for("moonshotai/Kimi-VL-A3B-Thinking").max_patches == 4096
    assert checkpoint_for("moonshotai/Kimi-VL-A3B-Instruct").variant == "instruct"
