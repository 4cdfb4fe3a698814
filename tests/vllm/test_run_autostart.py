"""`kimi-agent run` with no `--base-url` and nothing answering: it starts vLLM's real OpenAI server
itself (`--serve-port`, `--vllm`, `--vllm-arg`), does the task through it, and stops it, leaving no
process behind. One vLLM start-up (one to three minutes here); the option checks need no vLLM."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

from agent.backends.preflight import check_endpoints
from agent.backends.registry import BackendSpec
from agent.episode.run import RunOptions
from agent.trajectory.store import read_trajectory
from tests.vllm.conftest import CPU_ARGS, KV_CACHE_GIB, VLLM, requires_vllm
from tests.vllm.test_run import WRITE_THE_NOTE, run_env

PORT = 19510
"""This file's port (19500-19599 is its range), away from the suite's shared server."""
MARK = "KIMI_AGENT_AUTOSTART_TEST"
"""An environment variable every process the run starts inherits, so /proc shows what is left."""


def autostart_run(model: Path, folder: Path, *args: str) -> list[str]:
    return [
        sys.executable, "-m", "agent", "run", "--env", "xvfb", "--size", "1280x800",
        "--launch", "xterm -geometry 80x24+0+0", "--model", str(model),
        "--extra-body", json.dumps({"structured_outputs": {"regex": WRITE_THE_NOTE}}),
        "--record", str(folder / "rec"), "--no-panic-key", *args, "Write the note",
    ]


def answers(port: int) -> bool:
    try:
        httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=2)
    except httpx.HTTPError:
        return False
    return True


def marked(token: str) -> dict[int, str]:
    """Every live process (pid → command line) whose environment carries `MARK`=`token`."""
    needle = f"{MARK}={token}".encode()
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
                found[int(entry.name)] = command.decode(errors="replace")
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


def left_behind(token: str, within: float) -> dict[int, str]:
    """What is still running after `within` seconds (orphans are reaped by init a moment after their
    parent exits)."""
    deadline = time.monotonic() + within
    while (left := marked(token)) and time.monotonic() < deadline:
        time.sleep(0.5)
    return left


def test_run_carries_the_serve_options_to_the_vllm_serve_it_starts() -> None:
    options = RunOptions("x", model="/models/kimi-vl-a3b-thinking-2506-stand-in", serve_port=19511,
                         vllm="/venv/bin/vllm", vllm_args=("--load-format=dummy",))
    spec = options.backend_spec
    assert spec.serve is not None and spec.serve.base_url == "http://127.0.0.1:19511/v1"
    argv = spec.serve.command()
    assert argv[:3] == ["/venv/bin/vllm", "serve", options.model]
    assert argv[argv.index("--port") + 1] == "19511" and argv[-1] == "--load-format=dummy"
    assert RunOptions("x", base_url="http://h:1/v1", serve_port=19511).backend_spec.serve is None
    assert BackendSpec().serve is None


def test_preflight_looks_at_the_serve_port_and_passes_when_nothing_answers_there() -> None:
    assert not answers(19512)
    check_endpoints("openai", [None], "moonshotai/Kimi-VL-A3B-Thinking-2506", serve_port=19512, timeout=1)


def test_serve_options_with_a_base_url_or_another_backend_are_a_usage_error(tmp_path: Path) -> None:
    for extra in (["--base-url", "http://127.0.0.1:19513/v1", "--serve-port", "19513"],
                  ["--backend", "scripted", "--script", str(tmp_path), "--vllm", "/x/vllm"],
                  ["--base-url", "http://127.0.0.1:19513/v1", "--vllm-arg=--enforce-eager"]):
        done = subprocess.run(
            [sys.executable, "-m", "agent", "run", "--env", "xvfb", *extra, "task"],
            cwd=tmp_path, env=run_env(), capture_output=True, text=True, timeout=120,
        )
        out = done.stdout + done.stderr
        assert done.returncode == 2, out
        assert "only for the vllm serve started when no --base-url is given" in " ".join(out.split())
        assert "Traceback" not in out


@requires_vllm
def test_run_starts_real_vllm_itself_does_the_task_and_stops_it(stand_in_model: Path, tmp_path: Path) -> None:
    assert not answers(PORT), f"something already answers on port {PORT}"
    token = uuid.uuid4().hex
    started = time.monotonic()
    with open(tmp_path / "run.out", "w") as sink:
        run = subprocess.Popen(
            autostart_run(stand_in_model, tmp_path, "--serve-port", str(PORT), "--vllm", str(VLLM), *CPU_ARGS,
                          "--max-steps", "2", "--max-tokens", "400"),
            cwd=tmp_path, env=run_env(VLLM_CPU_KVCACHE_SPACE=KV_CACHE_GIB, **{MARK: token}),
            stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
    seen: set[str] = set()  # the run's vLLM processes, so "none left" below is not true by default
    while run.poll() is None and time.monotonic() - started < 1200:
        seen |= {c for c in marked(token).values() if "vllm" in c or "multiprocessing" in c}
        time.sleep(1)
    if run.poll() is None:
        run.kill()
    run.wait()
    seconds = time.monotonic() - started
    out = (tmp_path / "run.out").read_text(errors="replace")
    log = tmp_path / "recordings" / "vllm-serve.log"
    log_text = log.read_text(errors="replace") if log.exists() else "(no log)"
    left = left_behind(token, within=30.0)
    for pid in left:  # never leave them running, whatever the assertions below say
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
    context = f"{out}\n--- vllm log (last lines) ---\n" + "\n".join(log_text.splitlines()[-30:])
    assert run.returncode == 0, context
    assert any(f"{VLLM} serve {stand_in_model}" in c for c in seen), seen
    flat = " ".join(out.split())
    assert f"nothing answers at http://127.0.0.1:{PORT}/v1: starting vllm serve {stand_in_model}" in flat
    assert "Resolved architecture: KimiVLForConditionalGeneration" in log_text
    assert (tmp_path / "note.txt").read_text().strip() == "served by vllm"
    assert "outcome: done" in out and "answer: written" in out
    [folder] = list((tmp_path / "rec").iterdir())
    [step] = read_trajectory(folder).steps
    assert step.response.stand_in is None and step.response.finish_reason == "stop"
    assert step.response.usage.prompt_tokens > 0 and step.response.usage.completion_tokens > 0
    assert not left, f"processes left after run exited: {left}"
    assert not answers(PORT)
    print(f"\nrun with vLLM auto-start: {seconds:.0f} s; its processes seen: {len(seen)}", file=sys.stderr)
