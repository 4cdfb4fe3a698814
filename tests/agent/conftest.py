"""Real trajectories to view and export, recorded once per test session.

`kimi-agent run --env browser` runs for real (Chromium through Playwright, HTTP to a REPLAY
stand-in model server that answers scripted Kimi-VL-format replies; no model is used) on a
page the test writes, once with thinking-format replies and once with instruct-format
ones. The scripts cover every kind of action, a rejected reply, points in both relative
and image-pixel space, and model text that looks like HTML.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from agent.trajectory.store import Trajectory, read_trajectory
from environments.chromium import CHROMIUM_ARGS, chromium_path

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
PAGE = """<!doctype html><body style="margin:0;font:16px sans-serif;height:3000px">
<input id=name style="position:absolute;left:40px;top:40px;width:400px;height:40px">
<div style="position:absolute;left:40px;top:150px;width:200px;height:100px;background:#cde">drag area</div>
<p style="position:absolute;left:300px;top:160px">Some text to select</p>
</body>"""


def thinking(thought: str, intent: str, code: str) -> str:
    return f"◁think▷{thought}◁/think▷## Action:\n{intent}\n\n## Code:\n```python\n{code}\n```"


def instruct(thought: str, intent: str, code: str) -> str:
    return f"## Thought:\n{thought}\n\n## Action:\n{intent}\n\n## Code:\n```python\n{code}\n```"


THINKING_REPLIES = [
    thinking(f"The name field is empty. {HOSTILE}", "Click the name field and type the name.",
             'pyautogui.click(x=0.375, y=0.15)\npyautogui.write("Ada <b>Lovelace</b>")\npyautogui.press("tab")'),
    thinking("I will import something.", "Bad step.", "import os"),  # rejected and fed back
    thinking("Select a word, then open the context menu.", "Double-click a word and right-click it.",
             "pyautogui.doubleClick(x=0.6, y=0.42)\npyautogui.rightClick(x=0.6, y=0.42)\npyautogui.press('escape')"),
    thinking("Drag across the blue area, in pixels of the screenshot.", "Drag across the drag area.",
             "pyautogui.moveTo(60, 170)\npyautogui.dragTo(220, 230)"),
    thinking("Press and release the mouse, hold shift.", "Press, release and hold keys.",
             "pyautogui.mouseDown(x=0.1, y=0.9)\npyautogui.mouseUp(x=0.2, y=0.9)\n"
             "pyautogui.keyDown('shift')\npyautogui.keyUp('shift')"),
    thinking("Scroll down, select all, wait a moment.", "Scroll and select everything.",
             "pyautogui.scroll(-5, x=0.5, y=0.5)\npyautogui.hotkey('ctrl', 'a')\ntime.sleep(0.1)"),
    thinking("Everything is done.", "Report success.",
             'computer.terminate(status="success", answer="Ada <script>alert(1)</script>")'),
]
INSTRUCT_REPLIES = [
    instruct("The page shows a name field.", "Click the name field.", "pyautogui.click(x=0.375, y=0.15)"),
    instruct("The field has focus.", "Type the name and press enter.", "pyautogui.write('Grace')\npyautogui.press('enter')"),
    instruct("Done.", "Finish.", 'computer.terminate(status="failure", answer="cannot submit")'),
]


def _start_run(tmp: Path, name: str, replies: list[str], model: str, url: str) -> tuple[subprocess.Popen, subprocess.Popen, Path]:
    script = tmp / f"{name}.json"
    script.write_text(json.dumps({"replies": replies}), encoding="utf-8")
    server = subprocess.Popen(
        [sys.executable, "-m", "agent.backends.scripted_server", "--script", str(script), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT,
    )
    base_url = server.stdout.readline().split()[-1] + "/v1"
    record = tmp / name
    run = subprocess.Popen(
        [sys.executable, "-m", "agent", "run", "--env", "browser", "--url", url, "--size", "640x400",
         "--base-url", base_url, "--model", model, "--record", str(record), "fill in the name <b>form</b>"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    return server, run, record


@pytest.fixture(scope="session")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Trajectory]:
    """{"thinking": ..., "instruct": ...}: two real browser episodes, recorded in parallel."""
    tmp = tmp_path_factory.mktemp("recorded")
    page = tmp / "page.html"
    page.write_text(PAGE, encoding="utf-8")
    runs = {
        "thinking": _start_run(tmp, "thinking", THINKING_REPLIES, "replay", page.as_uri()),
        "instruct": _start_run(tmp, "instruct", INSTRUCT_REPLIES, "moonshotai/Kimi-VL-A3B-Instruct", page.as_uri()),
    }
    out: dict[str, Trajectory] = {}
    try:
        for name, (_, run, record) in runs.items():
            output, _ = run.communicate(timeout=120)
            assert run.returncode in (0, 1), output
            [folder] = list(record.iterdir())
            out[name] = read_trajectory(folder)
    finally:
        for server, run, _ in runs.values():
            for process in (run, server):
                if process.poll() is None:
                    process.terminate()
                    process.wait(timeout=10)
            server.stdout.close()
    return out


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium through Playwright, one per test module that renders pages."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=chromium_path(), args=list(CHROMIUM_ARGS))
        yield chromium
        chromium.close()
