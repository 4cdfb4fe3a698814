"""`kimi-agent run` end to end through a real vLLM: `kimi-agent serve` runs vLLM's OpenAI server with
vLLM's own Kimi-VL model class (random weights), real screenshots of an Xvfb desktop go through
vLLM's multimodal processing, and vLLM's structured outputs (passed with `--extra-body`) force the
random model's reply into Kimi-VL's format, so the parsed actions do a real task in an xterm."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from agent.backends.chat import ImagePart, Sampling
from agent.backends.openai_compat import OpenAICompatBackend
from agent.episode.tokens import IMAGE_MARKER_TOKENS
from agent.trajectory.store import read_trajectory
from environments.patches import image_tokens
from tests.vllm.conftest import ROOT, VLLM, requires_vllm

pytestmark = requires_vllm

WRITE_THE_NOTE = (
    r"◁think▷[a-z ]{1,40}◁/think▷## Action:\nWrite the note\.\n## Code:\n```python\n"
    r"pyautogui\.click\(x=0\.1[0-9]{2}, y=0\.1[0-9]{2}\)\n"
    r'pyautogui\.write\("echo served by vllm > note\.txt"\)\n'
    r'pyautogui\.press\("enter"\)\n'
    r'computer\.terminate\(status="success", answer="written"\)\n```'
)
"""Kimi-VL's thinking format: a free thought, a click in the xterm (top left), the note, the end."""


def kimi_agent_run(server, folder: Path, regex: str, *args: str, instruction: str = "Write the note",
                   ) -> list[str]:
    """The `kimi-agent run` command line for a task on a fresh Xvfb desktop with an xterm, in `folder`."""
    return [
        sys.executable, "-m", "agent", "run", "--env", "xvfb", "--size", "1280x800",
        "--launch", "xterm -geometry 80x24+0+0", "--base-url", server.base_url, "--model", server.name,
        "--extra-body", json.dumps({"structured_outputs": {"regex": regex}}),
        "--record", str(folder / "rec"), "--no-panic-key", *args, instruction,
    ]


def run_env(**variables: str) -> dict[str, str]:
    """The environment of a run on its own Xvfb desktop (no display of ours leaks in)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "XAUTHORITY")}
    return {**env, "COLUMNS": "250", "PYTHONPATH": str(ROOT), **variables}


def test_kimi_agent_serve_started_vllms_server_with_kimi_vls_model_class(vllm_server) -> None:
    """The fixture's server is `kimi-agent serve`: it printed the command it ran and when vLLM was up."""
    printed = " ".join((vllm_server.folder / "serve-0.out").read_text().split())
    assert f"{VLLM} serve {vllm_server.name} --trust-remote-code" in printed
    assert "--load-format=dummy --enforce-eager" in printed and "--limit-mm-per-prompt" in printed
    assert f"serving {vllm_server.name} at {vllm_server.base_url}" in printed
    log = vllm_server.log.read_text(errors="replace")
    assert "Resolved architecture: KimiVLForConditionalGeneration" in log


def test_kimi_agent_run_does_a_desktop_task_through_real_vllm(vllm_server, tmp_path: Path) -> None:
    done = subprocess.run(
        kimi_agent_run(vllm_server, tmp_path, WRITE_THE_NOTE, "--max-steps", "2", "--max-tokens", "400"),
        cwd=tmp_path, env=run_env(), capture_output=True, text=True, timeout=900,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out + vllm_server.output()
    assert (tmp_path / "note.txt").read_text().strip() == "served by vllm"
    assert "outcome: done" in out and "answer: written" in out

    [folder] = list((tmp_path / "rec").iterdir())
    trajectory = read_trajectory(folder)
    assert trajectory.info.outcome == "done" and len(trajectory.steps) == 1
    [step] = trajectory.steps
    assert step.response.stand_in is None  # a model server wrote this reply, not our scripted stand-in
    assert step.response.finish_reason == "stop" and step.thought and step.intent == "Write the note."
    assert [a.type for a in step.actions] == ["click", "type", "press", "done"]

    # vLLM's own usage figures are in the trajectory, and its image tokens are the ones we count.
    usage = step.response.usage
    assert usage.completion_tokens > 0
    frame = (step.frame.image_width, step.frame.image_height)
    assert frame == (1288, 812)  # 1280×800 aligned to the 28-px grid by the agent
    text_only = [
        m if isinstance(m.content, str)
        else m.model_copy(update={"content": tuple(p for p in m.content if not isinstance(p, ImagePart))})
        for m in step.request.messages
    ]
    backend = OpenAICompatBackend(vllm_server.base_url, vllm_server.name)
    text_tokens = backend.complete(text_only, Sampling(max_tokens=1)).usage.prompt_tokens
    backend.close()
    assert usage.prompt_tokens == text_tokens + image_tokens(*frame, 16384) + IMAGE_MARKER_TOKENS
    assert step.tokens is not None and step.tokens.prompt > 0  # our estimate, recorded beside vLLM's figure
