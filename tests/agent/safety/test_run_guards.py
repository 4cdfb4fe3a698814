"""`kimi-agent run` with its guards, end to end: a real X display, real HTTP to a SCRIPTED stand-in
server (scripted replies, no model), the real executor; the run is stopped from outside."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent.trajectory.store import TRAJECTORY_FILE, read_trajectory
from environments.virtual_desktop import VirtualDesktop
from tests.e2e.test_run import reply

pytestmark = pytest.mark.desktop
ROOT = Path(__file__).resolve().parents[3]
PRESS = reply("Press a key.", "pyautogui.press('a')")
DONE = reply("Done.", 'computer.terminate(status="success", answer="finished")')


def kimi_agent_run(env: dict, base_url: str, record: Path, *args: str) -> subprocess.Popen:
    # stdin is not a terminal, as in CI: nobody can be asked to confirm anything.
    return subprocess.Popen(
        [sys.executable, "-m", "agent", "run", "--base-url", base_url, "--model", "replay", "--record", str(record), *args, "act"],
        env=env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def wait_for_steps(record: Path, count: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = [line for f in record.glob(f"*/{TRAJECTORY_FILE}") for line in f.read_text().splitlines()]
        if len(lines) >= count:
            return
        assert proc.poll() is None, proc.communicate()[0]
        time.sleep(0.05)
    raise AssertionError(f"the run did not record {count} step(s) within {timeout} s")


def finish(proc: subprocess.Popen) -> str:
    try:
        return proc.communicate(timeout=60)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_policy_denies_typing_rm_rf_and_the_model_is_told(replay_server, tmp_path: Path) -> None:
    victim = tmp_path / "keep"
    victim.mkdir()
    policy = tmp_path / "policy.toml"
    policy.write_text("[[rules]]\nname = 'no-rm'\nverdict = 'deny'\nreason = 'deleting files is not allowed here'\ntext = ['\\brm\\s+-rf\\b']\n")
    server = replay_server([reply("Delete it.", f"pyautogui.write('rm -rf {victim}\\n')"), DONE])
    record = tmp_path / "rec"
    proc = kimi_agent_run(None, server.base_url, record, "--env", "xvfb", "--size", "640x480", "--policy", str(policy))
    out = finish(proc)
    assert proc.returncode == 0, out
    assert "guard policy: deny" in out and "deleting files is not allowed here" in out
    assert victim.is_dir()

    [folder] = list(record.iterdir())
    trajectory = read_trajectory(folder)
    assert trajectory.info.outcome == "done" and len(trajectory.steps) == 2
    [event] = trajectory.steps[0].guard
    assert (event.kind, event.verdict, event.rule) == ("policy", "deny", "no-rm")
    assert trajectory.steps[0].execution.executed == 0
    second = server.logged_requests()[1]["messages"][-1]["content"]
    note = next(p["text"] for p in second if p["type"] == "text")
    assert note.startswith("Note from the safety guard") and "was denied: deleting files is not allowed here" in note


def test_the_panic_key_pressed_on_the_display_stops_the_run(desktop: VirtualDesktop, replay_server, tmp_path: Path) -> None:
    server = replay_server([PRESS] * 30 + [DONE], "--latency", "1.0")
    record = tmp_path / "rec"
    proc = kimi_agent_run(desktop.env, server.base_url, record, "--env", "desktop", "--max-repeats", "0", "--max-unchanged", "0")
    try:
        wait_for_steps(record, 1, proc)
        subprocess.run(["xdotool", "key", "ctrl+alt+shift+k"], env=desktop.env, check=True, timeout=10)
        pressed_after = len(server.logged_requests())
        out = finish(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, out
    assert "panic key: ctrl+alt+shift+k" in out and "outcome: stopped" in out
    [folder] = list(record.iterdir())
    trajectory = read_trajectory(folder)
    assert trajectory.info.outcome == "stopped" and trajectory.info.error == "the panic key ctrl+alt+shift+k was pressed"
    assert len(trajectory.steps) <= pressed_after + 1 < 30  # stopped at once, not at the end of the script
    assert trajectory.torn_lines == 0


def test_the_corner_fail_safe_stops_the_run(desktop: VirtualDesktop, replay_server, tmp_path: Path) -> None:
    server = replay_server([PRESS] * 30 + [DONE], "--latency", "0.5")
    record = tmp_path / "rec"
    proc = kimi_agent_run(desktop.env, server.base_url, record, "--env", "desktop", "--no-panic-key", "--max-repeats", "0", "--max-unchanged", "0")
    try:
        wait_for_steps(record, 1, proc)
        subprocess.run(["xdotool", "mousemove", "0", "0"], env=desktop.env, check=True, timeout=10)
        out = finish(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, out
    assert "outcome: stopped" in out and "fail-safe" in out and "Traceback" not in out
    [folder] = list(record.iterdir())
    trajectory = read_trajectory(folder)
    assert trajectory.info.outcome == "stopped" and "fail-safe fired" in trajectory.info.error
    last = trajectory.steps[-1]
    assert [(e.kind, e.verdict) for e in last.guard] == [("fail_safe", "stop")] and last.execution.executed == 0
    assert len(trajectory.steps) < 30
