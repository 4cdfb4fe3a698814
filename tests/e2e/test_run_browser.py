"""`kimi-agent run --env browser` end to end: a page the test serves, real Chromium through
Playwright, real HTTP to a SCRIPTED stand-in model server; the page reports what was typed."""

from __future__ import annotations

import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from agent.trajectory.store import read_trajectory
from tests.e2e.test_run import reply

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]
PAGE = b"""<!doctype html><body style="margin:0">
<input id=name style="position:absolute;left:40px;top:40px;width:400px;height:40px">
<button style="position:absolute;left:40px;top:120px;width:160px;height:60px"
 onclick="fetch('/submit?name=' + encodeURIComponent(document.getElementById('name').value))">Send</button>
</body>"""


@pytest.fixture
def site():
    received: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: object) -> None:
            return

        def do_GET(self) -> None:
            url = urlparse(self.path)
            if url.path == "/submit":
                received.append(parse_qs(url.query)["name"][0])
            body = PAGE if url.path == "/" else b"ok"
            self.send_response(200)
            self.send_header("content-type", "text/html")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", received
    server.shutdown()
    server.server_close()


def test_run_fills_and_submits_a_form_in_the_browser(site, replay_server, tmp_path: Path) -> None:
    url, received = site
    # viewport 640x400: the field's centre is (240, 60) = (0.375, 0.15); the button's (120, 150)
    server = replay_server([
        reply("Type the name into the field.", "pyautogui.click(x=0.375, y=0.15)\npyautogui.write('Kimi')"),
        reply("Press Send.", "pyautogui.click(x=0.1875, y=0.375)"),
        reply("Done.", 'computer.terminate(status="success")'),
    ])
    proc = subprocess.run(
        [sys.executable, "-m", "agent", "run", "--env", "browser", "--url", url, "--size", "640x400",
         "--base-url", server.base_url, "--model", "replay", "--record", str(tmp_path / "rec"), "send the form"],
        cwd=ROOT, capture_output=True, text=True, timeout=180,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert received == ["Kimi"]
    [folder] = list((tmp_path / "rec").iterdir())
    trajectory = read_trajectory(folder)
    assert trajectory.info.env == "browser" and len(trajectory.steps) == 3
    assert trajectory.steps[1].coordinates[0].screen == (120, 150)
