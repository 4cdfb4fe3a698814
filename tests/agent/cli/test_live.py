"""`run`'s live feedback: the banner names the trajectory folder before the first step; on a terminal a
spinner counts the seconds the model thinks, and without one there is no spinner, only plain lines."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.agent.cli.terminal import run_on_a_terminal
from tests.agent.conftest import instruct
from tests.e2e.conftest import ROOT, ScriptedServer

pytestmark = pytest.mark.desktop
REPLIES = [
    instruct("An empty desktop.", "Click the middle.", "pyautogui.click(x=0.5, y=0.5)"),
    instruct("Done.", "Finish.", 'computer.terminate(status="success", answer="ok")'),
]


def _run_args(server: ScriptedServer, record: Path) -> list[str]:
    return [sys.executable, "-m", "agent", "run", "--env", "xvfb", "--size", "640x400",
            "--base-url", server.base_url, "--model", "replay", "--record", str(record), "--no-panic-key",
            "click the middle"]


def test_without_a_terminal_the_banner_comes_first_and_no_spinner(tmp_path: Path) -> None:
    server = ScriptedServer(REPLIES, tmp_path)
    try:
        done = subprocess.run(_run_args(server, tmp_path / "rec"), cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=120, check=False)
    finally:
        server.stop()
    assert done.returncode == 0, done.stdout
    lines = done.stdout.splitlines()
    [folder] = list((tmp_path / "rec").iterdir())
    first_step = lines.index(next(x for x in lines if x.startswith("step 1")))
    banner = [line.split(None, 1) for line in lines[:first_step]]
    assert ["trajectory", str(folder)] in banner
    assert ["model", "replay"] in banner and ["endpoint", server.base_url] in banner
    assert ["env", "xvfb: 640x400 virtual desktop"] in banner
    assert "model is thinking" not in done.stdout and "\x1b[" not in done.stdout


def test_on_a_terminal_a_spinner_counts_the_seconds_the_model_thinks(tmp_path: Path) -> None:
    server = ScriptedServer(REPLIES, tmp_path, "--latency", "2")
    try:
        returncode, text = run_on_a_terminal(_run_args(server, tmp_path / "rec"), ROOT)
    finally:
        server.stop()
    assert returncode == 0, text
    assert "step 1: the model is thinking… 1." in text  # counted up while the stand-in waited 2 s
    assert "step 2: the model is thinking…" in text
    assert text.index("trajectory") < text.index("step 1: the model is thinking")
