"""The `kimi-agent` console script, run as a real process."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[3] / "agent" / "cli" / "examples"


def kimi_agent(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    exe = shutil.which("kimi-agent", path=str(Path(sys.executable).parent))
    command = [exe] if exe else [sys.executable, "-m", "agent"]
    return subprocess.run(command + list(args), input=stdin, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("command", ["parse", "run", "serve", "demo", "doctor"])
def test_every_command_answers_help(command: str) -> None:
    result = kimi_agent(command, "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout


def test_parse_reads_stdin_and_prints_pixels() -> None:
    reply = "## Action:\nClick OK.\n## Code:\n```python\npyautogui.doubleClick(x=0.5, y=0.25)\n```"
    result = kimi_agent("parse", "--width", "1000", "--height", "800", stdin=reply)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "thought": "",
        "intent": "Click OK.",
        "actions": [{"type": "click", "x": 500, "y": 200, "button": "left", "clicks": 2}],
    }


def test_parse_reads_a_file() -> None:
    result = kimi_agent("parse", "--file", str(EXAMPLES / "thinking_done.txt"))
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["actions"] == [{"type": "done", "answer": "notes.txt saved"}]
    assert out["thought"].startswith("The file is saved")


def test_parse_refuses_code_with_status_2(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    reply = f"```python\n__import__('os').system('touch {marker}')\n```"
    result = kimi_agent("parse", stdin=reply)
    assert result.returncode == 2
    assert "error" in json.loads(result.stdout)
    assert not marker.exists()


def test_demo_parse_only_shows_parsed_and_refused_examples() -> None:
    result = kimi_agent("demo", "--parse-only")
    assert result.returncode == 0, result.stderr
    assert '"type": "click"' in result.stdout
    assert "refused" in result.stdout
    assert "No model was used" in result.stdout


def test_serve_dry_run_prints_the_vllm_command_line() -> None:
    result = kimi_agent("serve", "--dry-run", "--max-num-seqs", "4")
    assert result.returncode == 0, result.stderr
    line = " ".join(result.stdout.split())
    assert line.startswith("vllm serve moonshotai/Kimi-VL-A3B-Thinking-2506 --trust-remote-code")
    assert "--max-num-batched-tokens 16384" in line
    assert "--limit-mm-per-prompt '{\"image\": 8}'" in line
    assert "--max-num-seqs 4" in line
