"""`--watch`: the live page of a real `run` and a real `eval` (worker processes), in headless Chromium.

The model is the scripted stand-in (no model is used): over HTTP with a think time for `run`, so
the page can be seen waiting for it; the in-process scripted backend for `eval`.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page

from tests.agent.conftest import ROOT, instruct

pytestmark = pytest.mark.browser
INSTRUCTION = "Watch <b>me</b> click"
REPLIES = [
    instruct("An empty desktop.", "Click the middle of the screen.", "pyautogui.click(x=0.5, y=0.5)"),
    instruct("Nothing changed <script>window.__pwned = 1</script>.", "Press escape.",
             "pyautogui.press('escape')"),
    instruct("Done.", "Finish.", 'computer.terminate(status="success", answer="clicked")'),
]


@pytest.fixture
def page(browser: Browser) -> Iterator[tuple[Page, list[str]]]:
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    problems: list[str] = []
    page.on("pageerror", lambda err: problems.append(str(err)))
    gone = ("Failed to fetch", "Failed to load resource: net::ERR_")  # once the command has ended
    page.on("console", lambda m: problems.append(m.text)
            if m.type == "error" and not any(g in m.text for g in gone) else None)
    yield page, problems
    page.close()


def _watch_url(process: subprocess.Popen, seen: list[str], timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        found = re.search(r"watch: (http://127\.0\.0\.1:\d+/)", line)
        if found:
            return found[1]
    raise AssertionError("no watch address printed:\n" + "".join(seen))


def _stop(*processes: subprocess.Popen) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=20)
        if process.stdout:
            process.stdout.close()


def test_run_watch_shows_the_frame_the_model_is_thinking_about_then_its_actions(page, tmp_path: Path) -> None:
    view, problems = page
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"replies": REPLIES}), encoding="utf-8")
    server = subprocess.Popen(
        [sys.executable, "-m", "agent.backends.scripted_server", "--script", str(script), "--port", "0",
         "--latency", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT,
    )
    base_url = server.stdout.readline().split()[-1] + "/v1"
    run = subprocess.Popen(
        [sys.executable, "-m", "agent", "run", "--env", "xvfb", "--size", "640x400", "--base-url", base_url,
         "--model", "replay", "--record", str(tmp_path / "rec"), "--no-panic-key", "--watch", INSTRUCTION],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    output: list[str] = []
    try:
        url = _watch_url(run, output)
        # a page elsewhere reaching it through DNS rebinding is refused
        assert httpx.get(url, headers={"Host": "attacker.example"}).status_code == 403
        view.goto(url)
        card = view.locator(".episode").first
        card.locator(".now", has_text="the model is thinking").wait_for(timeout=60_000)
        view.wait_for_function("() => { const i = document.querySelector('.episode img');"
                               " return i && i.complete && i.naturalWidth > 600; }", timeout=10_000)
        assert card.locator("h2").inner_text() == INSTRUCTION  # shown as text
        card.locator(".intent", has_text="Click the middle of the screen.").wait_for(timeout=60_000)
        assert "replies from scripted stand-in server (replay)" in card.locator(".facts").inner_text()
        assert re.fullmatch(r"click\(\d+,\d+\)", card.locator(".actions li").first.inner_text())
        card.locator(".status", has_text="done").wait_for(timeout=60_000)  # kept up to show the end
        assert "frames/final.jpg" in card.locator("img").get_attribute("src").replace("%2F", "/")
        assert card.locator(".now").inner_text() == "ended: done (clicked)"
        run.wait(timeout=30)
    finally:
        _stop(run, server)
    assert run.returncode == 0, "".join(output)
    assert view.evaluate("() => window.__pwned") is None
    assert problems == []


def test_eval_watch_shows_tasks_of_worker_processes(page, tmp_path: Path) -> None:
    view, problems = page
    suite = ROOT / "environments" / "tasks" / "suite"
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    for name in ("terminal-write-file", "terminal-make-folders"):
        (tasks / f"{name}.json").write_text((suite / "examples" / "os" / f"{name}.json").read_text())
    evaluation = subprocess.Popen(
        [sys.executable, "-m", "agent", "eval", "--tasks", str(tasks), "--backend", "scripted",
         "--script", str(suite / "solutions"), "--results", str(tmp_path / "results"), "--workers", "2",
         "--watch"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    output: list[str] = []
    seen: set[str] = set()
    try:
        view.goto(_watch_url(evaluation, output))
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and evaluation.poll() is None:
            for text in view.locator(".episode h2").all_inner_texts():
                seen.add(text.split(":")[0])
            if view.locator(".episode .score").count() == 2:  # scored after the episode ends
                break
            time.sleep(0.2)
        cards = view.locator(".episode")
        assert cards.count() == 2
        assert seen == {"tasks/terminal-write-file", "tasks/terminal-make-folders"}  # domain: the folder
        assert view.locator(".episode .status", has_text="done").count() == 2
        shown = {view.locator(".episode h2").nth(i).inner_text().split(":")[0]:
                 float(view.locator(".episode .score").nth(i).inner_text().split()[1]) for i in range(2)}
        results = tmp_path / "results" / "tasks"
        written = {f"tasks/{name}": float((results / name / "result.txt").read_text())
                   for name in ("terminal-write-file", "terminal-make-folders")}
        assert shown == written
        evaluation.communicate(timeout=60)
    finally:
        _stop(evaluation)
    assert evaluation.returncode == 0, "".join(output)
    assert problems == []
