"""Fixtures for tests against a REAL vLLM: the CPU build in .venv-vllm (made by `.ci/setup-vllm`)
serving vLLM's own Kimi-VL model class on the generated stand-in model directory with random
weights. The tests needing it skip when .venv-vllm is absent; everything else they use is real
too (`kimi-agent serve` and `run`, HTTP, Xvfb, xterm).

One server is started for the whole package (start-up takes one to three minutes on two
cores) and shared; a fault test that kills it starts it again on the same port.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.vllm.stand_in_model import write_stand_in_model

ROOT = Path(__file__).resolve().parents[2]
VLLM_VENV = ROOT / ".venv-vllm"
VLLM = VLLM_VENV / "bin" / "vllm"
VLLM_PYTHON = VLLM_VENV / "bin" / "python"
PORT = 18210
"""This suite's port (18200-18299 is its range)."""

requires_vllm = pytest.mark.skipif(
    not VLLM.exists(), reason=".venv-vllm is absent: `bash .ci/setup-vllm` installs vLLM's CPU build"
)

CPU_ARGS = ("--vllm-arg=--load-format=dummy", "--vllm-arg=--enforce-eager")
"""Random weights (nothing is downloaded); eager mode skips torch.compile, which takes ~3 min on
two cores and gains nothing for a few small requests."""
KV_CACHE_GIB = "1"
"""VLLM_CPU_KVCACHE_SPACE: without it the CPU worker reserves ~21 GiB for its KV cache and is
killed for memory; 1 GiB holds ~466,000 tokens of this model, far more than the tests send."""
START_TIMEOUT = 900.0


class ServeProcess:
    """`kimi-agent serve` running vLLM's real OpenAI server on the stand-in directory.

    `kimi-agent serve` starts `vllm serve` in a process group of its own and supervises it;
    both are stopped, and checked gone, by `stop`."""

    def __init__(self, model: Path, folder: Path, port: int = PORT) -> None:
        self.model, self.folder, self.port = model, folder, port
        self.base_url = f"http://127.0.0.1:{port}/v1"
        self.log = folder / "vllm.log"
        self.process: subprocess.Popen | None = None
        self.started_seconds: list[float] = []

    @property
    def name(self) -> str:
        """The served model name: `kimi-agent serve` serves the checkpoint under its own path."""
        return str(self.model)

    def command(self) -> list[str]:
        return [sys.executable, "-m", "agent", "serve", "--checkpoint", str(self.model),
                "--port", str(self.port), "--vllm", str(VLLM), *CPU_ARGS, "--log", str(self.log)]

    def start(self) -> ServeProcess:
        out = open(self.folder / f"serve-{len(self.started_seconds)}.out", "w")
        started = time.monotonic()
        self.process = subprocess.Popen(
            self.command(), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=ROOT,
            env={**os.environ, "VLLM_CPU_KVCACHE_SPACE": KV_CACHE_GIB, "COLUMNS": "250"},
            start_new_session=True,
        )
        out.close()
        deadline = started + START_TIMEOUT
        while not self.healthy():
            if self.process.poll() is not None:
                raise RuntimeError(f"kimi-agent serve exited ({self.process.returncode}):\n{self.output()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"vLLM was not healthy after {START_TIMEOUT:.0f} s:\n{self.output()}")
            time.sleep(1)
        self.started_seconds.append(time.monotonic() - started)
        return self

    def healthy(self) -> bool:
        try:
            return httpx.get(f"{self.base_url}/models", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def output(self) -> str:
        outs = sorted(self.folder.glob("serve-*.out"))
        text = outs[-1].read_text(errors="replace") if outs else ""
        log = self.log.read_text(errors="replace").splitlines()[-30:] if self.log.exists() else []
        return text + "\n--- vllm log (last lines) ---\n" + "\n".join(log)

    def vllm_group(self) -> int:
        """The process group of `vllm serve` (its API server, engine core and worker)."""
        assert self.process is not None
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        [child] = [int(pid) for pid in children]
        return os.getpgid(child)

    def kill_vllm(self) -> None:
        """SIGKILL every vLLM process, as a crash or the OOM killer would; `kimi-agent serve` then exits."""
        os.killpg(self.vllm_group(), signal.SIGKILL)
        assert self.process is not None
        self.process.wait(timeout=60)

    def stop(self) -> bool:
        """Ctrl+C to `kimi-agent serve`, which stops vLLM (SIGTERM, then SIGKILL after 30 s) and exits.

        True when that was enough: it exited 0 and no vLLM process was left (else they are killed here)."""
        if self.process is None or self.process.poll() is not None:
            return True
        group = self.vllm_group()
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        clean = self.process.returncode == 0 and _gone(group, within=10.0)
        if not clean:
            _kill_group(group)
        return clean


def _kill_group(group: int) -> None:
    try:
        os.killpg(group, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _gone(group: int, within: float) -> bool:
    """True once no process of `group` is left (orphans are reaped by init a moment after their parent)."""
    deadline = time.monotonic() + within
    while True:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)


@pytest.fixture(scope="session")
def stand_in_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generated Kimi-VL stand-in directory, standing in for Kimi-VL-A3B-Thinking-2506."""
    return write_stand_in_model(tmp_path_factory.mktemp("model"))


@pytest.fixture(scope="session")
def vllm_server(stand_in_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    if not VLLM.exists():
        pytest.skip(".venv-vllm is absent: `bash .ci/setup-vllm` installs vLLM's CPU build")
    server = ServeProcess(stand_in_model, tmp_path_factory.mktemp("vllm")).start()
    yield server
    clean = server.stop()
    timings = {"start_seconds": [round(s, 1) for s in server.started_seconds]}
    (server.folder / "timings.json").write_text(json.dumps(timings))
    print(f"\nvLLM start-up: {timings['start_seconds']} s", file=sys.stderr)
    assert clean, f"Ctrl+C did not stop kimi-agent serve and every vLLM process:\n{server.output()}"
