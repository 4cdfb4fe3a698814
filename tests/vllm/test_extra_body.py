"""`--extra-body JSON` (run, eval, ground): fields merged into every chat request as they are, the
way tests/vllm passes vLLM's structured outputs. Checked against the scripted stand-in server's
request log, so these run without vLLM."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from agent.backends.chat import Message, Sampling
from agent.backends.openai_compat import OpenAICompatBackend
from agent.evaluation.manifest import build_manifest
from agent.evaluation.options import EvalOptions
from tests.faults.conftest import ModelServer
from tests.vllm.conftest import ROOT

STRUCTURED = {"structured_outputs": {"regex": "## Action:\\n[a-z]+"}, "top_k": 20}
POINT = ("◁think▷It is there.◁/think▷## Action:\nClick it.\n"
         "## Code:\n```python\npyautogui.click(x=0.5, y=0.5)\n```")


def logged(server: ModelServer) -> list[dict]:
    return [json.loads(line) for line in server.requests.read_text().splitlines()]


def test_the_client_merges_the_fields_into_every_request(tmp_path: Path) -> None:
    server = ModelServer(tmp_path, ["one", "two"])
    try:
        client = OpenAICompatBackend(server.base_url, "replay", extra_body=STRUCTURED)
        for _ in range(2):
            client.complete([Message(role="user", content="hi")], Sampling(max_tokens=7))
        client.close()
        bodies = logged(server)
    finally:
        server.stop()
    assert len(bodies) == 2
    assert all(b["structured_outputs"] == STRUCTURED["structured_outputs"] for b in bodies)
    assert all(b["top_k"] == 20 for b in bodies)
    assert all(b["max_tokens"] == 7 and b["model"] == "replay" for b in bodies)  # ours are still there


def test_kimi_agent_ground_sends_them(tmp_path: Path) -> None:
    image = tmp_path / "screen.png"
    Image.new("RGB", (640, 400), "white").save(image)
    server = ModelServer(tmp_path, [POINT])
    try:
        done = subprocess.run(
            [sys.executable, "-m", "agent", "ground", str(image), "the button", "--base-url", server.base_url,
             "--model", "moonshotai/Kimi-VL-A3B-Instruct", "--extra-body", json.dumps(STRUCTURED), "--json"],
            cwd=ROOT, capture_output=True, text=True, timeout=120,
        )
        [body] = logged(server)
    finally:
        server.stop()
    assert done.returncode == 0, done.stdout + done.stderr
    assert body["structured_outputs"] == STRUCTURED["structured_outputs"] and body["top_k"] == 20


@pytest.mark.parametrize(("command", "value", "message"), [
    ("run", "{not json", "not JSON"),
    ("run", "[1, 2]", "give a JSON object"),
    ("eval", '"text"', "give a JSON object"),
    ("ground", "{bad", "not JSON"),
])
def test_a_bad_value_is_a_usage_error(tmp_path: Path, command: str, value: str, message: str) -> None:
    args = {"run": ["run", "--env", "xvfb", "anything"], "eval": ["eval", "--results", str(tmp_path / "r")],
            "ground": ["ground", str(tmp_path / "missing.png"), "the button"]}[command]
    done = subprocess.run(
        [sys.executable, "-m", "agent", *args, "--extra-body", value], cwd=ROOT, capture_output=True,
        text=True, timeout=120, env={"PATH": "/usr/bin:/bin", "COLUMNS": "200", "HOME": str(tmp_path)},
    )
    out = done.stdout + done.stderr
    assert done.returncode == 2 and message in out and "--extra-body" in out, out
    assert "Traceback" not in out


def test_eval_workers_send_them_and_the_run_identity_holds_them(tmp_path: Path) -> None:
    options = EvalOptions(tasks=tmp_path, extra_body=STRUCTURED)
    assert options.worker_spec("http://127.0.0.1:9/v1", None).backend.extra_body == STRUCTURED
    assert build_manifest(options, [], []).identity.model_dump()["extra_body"] == STRUCTURED
    assert "extra_body" not in build_manifest(EvalOptions(tasks=tmp_path), [], []).identity.model_dump()
