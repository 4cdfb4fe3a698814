"""`kimi-agent run` end to end: a real Xvfb desktop with a real xterm, real HTTP to a REPLAY
stand-in server answering scripted Kimi-VL-format replies, and a task whose effect is checked."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent.trajectory.store import read_trajectory
from environments.virtual_desktop import VirtualDesktop
from tests.processes import alive

pytestmark = pytest.mark.desktop
ROOT = Path(__file__).resolve().parents[2]


def reply(intent: str, code: str) -> str:
    return f"◁think▷Looking at the screen.◁/think▷## Action:\n{intent}\n\n## Code:\n```python\n{code}\n```"


def kimi_agent_run(desktop: VirtualDesktop, base_url: str, record: Path, *args: str, instruction: str = "write the note") -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "agent", "run", "--env", "desktop", "--base-url", base_url, "--model", "replay",
         "--record", str(record), *args, instruction],
        env=desktop.env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def start_xterm(desktop: VirtualDesktop, workdir: Path) -> None:
    desktop.launch(["xterm", "-geometry", "80x24+0+0", "-title", "e2e-term"], cwd=workdir)
    desktop.wait_for_window("e2e-term")


def test_run_performs_a_real_task_and_records_every_step(desktop, replay_server, tmp_path: Path) -> None:
    start_xterm(desktop, tmp_path)
    note = tmp_path / "note.txt"
    server = replay_server([
        reply("Focus the terminal.", "pyautogui.click(x=0.15, y=0.15)"),
        reply("Write the note.", f"pyautogui.write(\"echo 'saved by kimi' > {note}\")\npyautogui.press('enter')"),
        reply("Done.", 'computer.terminate(status="success", answer="written")'),
    ])
    record = tmp_path / "rec"
    proc = kimi_agent_run(desktop, server.base_url, record, "--max-steps", "5")
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    assert note.read_text().strip() == "saved by kimi"
    assert "outcome: done" in out and "answer: written" in out and "trajectory:" in out

    [folder] = list(record.iterdir())
    trajectory = read_trajectory(folder)
    assert trajectory.info.outcome == "done" and trajectory.info.answer == "written"
    assert len(trajectory.steps) == 3 and trajectory.torn_lines == 0
    first = trajectory.steps[0]
    assert trajectory.frame_path(first).read_bytes()[:3] == b"\xff\xd8\xff"  # one JPEG per frame
    assert len({s.screenshot for s in trajectory.steps}) == 3
    assert (first.frame.physical_width, first.frame.physical_height, first.frame.scale) == (1280, 800, 1.0)
    assert (first.frame.image_width, first.frame.image_height) == (1288, 812)
    assert first.coordinates[0].screen == (192, 120)
    assert first.intent == "Focus the terminal." and first.thought == "Looking at the screen."
    assert first.request.messages[1].content[-1].image_url.url == first.screenshot  # no image bytes
    assert first.execution.ok and first.execution.executed == 1
    assert first.timings.model > 0 and first.timings.capture > 0 and first.timings.encode > 0
    assert trajectory.steps[1].tokens.shared_prefix > 0

    requests = server.logged_requests()
    assert len(requests) == 3
    assert requests[0]["messages"][0]["role"] == "system"
    assert requests[0]["stop"] == ["<|im_end|>"]


def test_a_bad_reply_is_fed_back_and_the_retry_is_used(desktop, replay_server, tmp_path: Path) -> None:
    server = replay_server([
        "```python\nimport os\nos.system('touch /tmp/pwned')\n```",
        reply("Done.", 'computer.terminate(status="success")'),
    ])
    proc = kimi_agent_run(desktop, server.base_url, tmp_path / "rec")
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    second = server.logged_requests()[1]
    feedback = second["messages"][-1]["content"][-1]["text"]
    assert "not accepted" in feedback and "import" in feedback
    [folder] = list((tmp_path / "rec").iterdir())
    step = read_trajectory(folder).steps[0]
    assert len(step.attempts) == 1 and "import" in step.attempts[0].error


def test_max_steps_stops_the_run(desktop, replay_server, tmp_path: Path) -> None:
    server = replay_server([reply("Wait.", "pyautogui.moveTo(0.5, 0.5)")] * 5)
    proc = kimi_agent_run(desktop, server.base_url, tmp_path / "rec", "--max-steps", "2")
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 1
    assert "outcome: max_steps after 2 step(s)" in " ".join(out.split())


def test_an_unreachable_server_fails_clearly(desktop, tmp_path: Path) -> None:
    proc = kimi_agent_run(desktop, "http://127.0.0.1:9/v1", tmp_path / "rec")
    out, _ = proc.communicate(timeout=180)
    assert proc.returncode == 2, out  # refused by the pre-flight, before any episode starts
    assert "nothing answers at http://127.0.0.1:9/v1" in out and "Traceback" not in out


def test_killing_a_run_never_corrupts_its_trajectory(desktop, replay_server, tmp_path: Path) -> None:
    """SIGKILL real runs at several points of their episode (timed from the moment its episode.json
    appears, so a slow start on a loaded machine does not move them all before the first step);
    each folder reads back to its last finished step."""
    steps_seen = 0
    for attempt, delay in enumerate((0.0, 0.5, 1.0, 1.6)):
        server = replay_server([reply("Move.", f"pyautogui.moveTo({0.1 + 0.01 * i}, 0.5)") for i in range(200)])
        record = tmp_path / f"rec{attempt}"
        proc = kimi_agent_run(desktop, server.base_url, record, "--max-steps", "200")
        deadline = time.monotonic() + 60
        while not list(record.glob("*/episode.json")) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
        folders = list(record.iterdir())
        trajectory = read_trajectory(folders[0])
        assert trajectory.torn_lines <= 1
        assert [s.index for s in trajectory.steps] == list(range(len(trajectory.steps)))
        for step in trajectory.steps:
            assert trajectory.frame_path(step).stat().st_size > 0
        steps_seen += len(trajectory.steps)
    assert steps_seen > 0, "no run got far enough to record a step: the kill points prove nothing"


def test_the_scripted_backend_runs_a_task_on_a_managed_xvfb_desktop(tmp_path: Path) -> None:
    """`--backend scripted --script FILE`: the replies are played back in this process, no server."""
    note = tmp_path / "note.txt"
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"replies": [
        reply("Focus the terminal.", "pyautogui.click(x=0.15, y=0.15)"),
        reply("Write the note.", f"pyautogui.write(\"echo 'scripted' > {note}\")\npyautogui.press('enter')"),
        reply("Done.", 'computer.terminate(status="success", answer="written")'),
    ]}), encoding="utf-8")
    record = tmp_path / "rec"
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "XAUTHORITY")}
    proc = subprocess.run(
        [sys.executable, "-m", "agent", "run", "--env", "xvfb", "--size", "1280x800",
         "--launch", "xterm -geometry 80x24+0+0", "--backend", "scripted", "--script", str(script),
         "--record", str(record), "--max-steps", "5", "--no-panic-key", "write the note"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=180,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert note.read_text().strip() == "scripted"
    assert "outcome: done" in proc.stdout and "answer: written" in proc.stdout
    [folder] = list(record.iterdir())
    trajectory = read_trajectory(folder)
    assert trajectory.info.outcome == "done" and len(trajectory.steps) == 3
    first = trajectory.steps[0]
    assert first.coordinates[0].screen == (192, 120) and first.execution.executed == 1
    assert trajectory.steps[1].tokens.shared_prefix > 0


def test_the_offline_backend_without_vllm_is_a_one_line_error(tmp_path: Path) -> None:
    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("vllm is installed here")
    proc = subprocess.run(
        [sys.executable, "-m", "agent", "run", "--env", "xvfb", "--backend", "vllm-offline",
         "--record", str(tmp_path / "rec"), "--no-panic-key", "anything"],
        env={**os.environ, "COLUMNS": "200"}, cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 2
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1 and "pip install" in lines[0] and "vllm" in lines[0], proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr
    assert not (tmp_path / "rec").exists()  # it failed before any desktop or recording was made


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def test_a_run_killed_outright_leaves_no_process_behind(replay_server, tmp_path: Path) -> None:
    """SIGKILL of `run --env xvfb --launch xterm`: its Xvfb, window manager, terminal and guardian all end."""
    server = replay_server([reply("Move.", f"pyautogui.moveTo({0.1 + 0.01 * i}, 0.5)") for i in range(200)])
    record = tmp_path / "rec"
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent", "run", "--env", "xvfb", "--launch", "xterm",
         "--base-url", server.base_url, "--model", "replay", "--record", str(record), "--max-steps", "200",
         "keep moving"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "DISPLAY": ""},
    )
    deadline = time.monotonic() + 120
    while not list(record.glob("*/frames/*")) and time.monotonic() < deadline:
        time.sleep(0.2)
    started = _descendants(proc.pid)
    assert started and list(record.glob("*/frames/*")), "the run never reached a step"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    deadline = time.monotonic() + 20
    while any(alive(pid) for pid in started) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = [pid for pid in started if alive(pid)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"processes outlived the killed run: {left}"
