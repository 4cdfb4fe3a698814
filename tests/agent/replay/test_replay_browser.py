"""`replay --env browser`: an episode `kimi-agent run` recorded in Chromium (answered by the REPLAY
stand-in model server, no model) submits the same form again in a fresh page."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.agent.replay.conftest import ROOT
from tests.e2e.conftest import ScriptedServer
from tests.e2e.test_run import reply
from tests.e2e.test_run_browser import site  # noqa: F401  (the fixture: a page that reports submissions)

pytestmark = pytest.mark.browser


def test_a_browser_episode_replays_in_a_fresh_page(site, tmp_path: Path) -> None:  # noqa: F811
    url, received = site
    server = ScriptedServer([  # viewport 640x400: the field's centre is (0.375, 0.15), the button's (0.1875, 0.375)
        reply("Type the name into the field.", "pyautogui.click(x=0.375, y=0.15)\npyautogui.write('Kimi')"),
        reply("Press Send.", "pyautogui.click(x=0.1875, y=0.375)"),
        reply("Done.", 'computer.terminate(status="success")'),
    ], tmp_path)
    try:
        run = subprocess.run(
            [sys.executable, "-m", "agent", "run", "--env", "browser", "--url", url, "--size", "640x400",
             "--base-url", server.base_url, "--model", "replay", "--record", str(tmp_path / "rec"), "send the form"],
            cwd=ROOT, capture_output=True, text=True, timeout=180, check=False,
        )
    finally:
        server.stop()
    assert run.returncode == 0, run.stdout + run.stderr
    assert received == ["Kimi"]

    done = subprocess.run(
        [sys.executable, "-m", "agent.cli.replay", "replay", str(tmp_path / "rec"), "--env", "browser", "--url", url],
        cwd=ROOT, capture_output=True, text=True, timeout=180, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "replayed 3 step(s); no divergence" in " ".join(done.stdout.split())
    assert received == ["Kimi", "Kimi"]
