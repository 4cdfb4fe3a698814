"""`kimi-agent run --model moonshotai/Kimi-K2.5` end to end: a real Xvfb desktop and xterm, real HTTP to
the REPLAY stand-in answering as vLLM does with the `kimi_k2` reasoning parser (thinking in
`reasoning_content`, the answer in `content`). Checks the checkpoint's settings on the wire
(WebP screenshots, temperature 1.0, max_tokens 4096, at most 3 screenshots), the recorded
thought, the viewer page, and the export in the checkpoint's own reply layout."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest

from actions.parser import parse_reply
from agent.export.datasets import export_dataset
from agent.trajectory.store import read_trajectory
from agent.view.render import render_html
from tests.e2e.test_run import ROOT, start_xterm

pytestmark = pytest.mark.desktop

THOUGHTS = [
    "The terminal sits at the top left; it needs focus before typing.",
    "The terminal has focus, so the command can be typed now.",
    "The command is typed; Enter runs it.",
    "The note is written; move the pointer out of the way.",
    "Everything is done.",
]


def served_reply(thought: str, intent: str, code: str) -> dict[str, str]:
    """What vLLM with `--reasoning-parser kimi_k2` returns: the thinking apart from the answer."""
    answer = f"## Action:\n{intent}\n\n## Code:\n```python\n{code}\n```"
    return {"reasoning_content": thought, "content": answer}


def images_in(request: dict) -> list[str]:
    return [
        part["image_url"]["url"]
        for message in request["messages"] if isinstance(message["content"], list)
        for part in message["content"] if part.get("type") == "image_url"
    ]


def test_kimi_k25_run_records_the_served_thought_and_sends_its_settings(
    desktop, replay_server, tmp_path: Path
) -> None:
    start_xterm(desktop, tmp_path)
    note = tmp_path / "note.txt"
    steps = [
        ("Focus the terminal.", "pyautogui.click(x=0.15, y=0.15)"),
        ("Type the command.", f"pyautogui.write(\"echo 'saved by k2.5' > {note}\")"),
        ("Run it.", "pyautogui.press('enter')"),
        ("Move the pointer away.", "pyautogui.moveTo(x=0.6, y=0.6)"),
        ("Done.", 'computer.terminate(status="success", answer="written")'),
    ]
    replies = [served_reply(t, i, c) for t, (i, c) in zip(THOUGHTS, steps)]
    server = replay_server(replies, "--model", "moonshotai/Kimi-K2.5")
    record = tmp_path / "rec"
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent", "run", "--env", "desktop", "--base-url", server.base_url,
         "--model", "moonshotai/Kimi-K2.5", "--record", str(record), "--max-steps", "8", "write the note"],
        env=desktop.env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    out, _ = proc.communicate(timeout=180)
    assert proc.returncode == 0, out
    assert note.read_text().strip() == "saved by k2.5"
    assert "outcome: done" in out and "unknown model" not in out

    requests = server.logged_requests()
    assert len(requests) == 5
    for request in requests:
        assert request["model"] == "moonshotai/Kimi-K2.5"
        assert (request["temperature"], request["top_p"], request["max_tokens"]) == (1.0, 0.95, 4096)
        assert all(url.startswith("data:image/webp;base64,") for url in images_in(request))
    counts = [len(images_in(r)) for r in requests]
    assert counts == [1, 2, 3, 2, 3]  # never more than the last 3 screenshots; trimmed in a block

    [folder] = list(record.iterdir())
    trajectory = read_trajectory(folder)
    assert [s.thought for s in trajectory.steps] == THOUGHTS
    assert trajectory.steps[0].response.reasoning == THOUGHTS[0]
    assert trajectory.steps[0].response.text.startswith("## Action:")
    assert trajectory.frame_path(trajectory.steps[0]).read_bytes()[8:12] == b"WEBP"

    page = render_html(trajectory, tmp_path / "view" / "index.html").read_text(encoding="utf-8")
    assert '<p class="thought">The terminal sits at the top left; it needs focus before typing.</p>' in page

    out_file = tmp_path / "train.json"
    export_dataset([folder], out_file, "sharegpt")
    samples = json.loads(out_file.read_text(encoding="utf-8"))
    first = samples[0]["messages"][-1]["content"]
    assert first.startswith(f"<think>{THOUGHTS[0]}</think>## Action:\nFocus the terminal.")
    assert parse_reply(first).thought == THOUGHTS[0]
    assert max(len(s["images"]) for s in samples) == 3


def test_the_stand_in_log_keeps_each_images_media_type(replay_server, tmp_path: Path) -> None:
    import httpx

    server = replay_server(["r"])
    pixel = base64.b64encode(b"RIFF0000WEBP").decode()
    url = f"data:image/webp;base64,{pixel}"
    body = {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}}]}]}
    assert httpx.post(server.base_url + "/chat/completions", json=body, timeout=10).status_code == 200
    [logged] = server.logged_requests()
    assert images_in(logged) == [f"data:image/webp;base64,<{len(url)} characters>"]
