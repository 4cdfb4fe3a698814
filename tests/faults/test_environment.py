"""Environment faults injected for real: the X server or Chromium killed mid-episode, an application
stopped, a setup command that never ends, and our VM server stopped or failing. Each episode ends
as an error naming the cause; `eval` rebuilds the environment and the other tasks are unaffected."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent.trajectory.store import read_trajectory
from environments.settle import SettleConfig
from environments.tasks.machine import LocalMachine
from environments.tasks.suite import SOLUTIONS, SUITE
from environments.virtual_desktop import VirtualDesktop
from tests.environments.remote.conftest import VM
from tests.faults.conftest import DONE, ROOT, descendants, kill_descendant, moves, reply
from tests.processes import alive


def kimi_agent_eval(base_url: str, results: Path, tasks: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "agent", "eval", "--base-url", base_url, "--model", "replay", "--results", str(results),
         "--tasks", str(tasks), "--retries", "1"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )


def finish(process: subprocess.Popen, timeout: float = 300) -> str:
    try:
        out, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, _ = process.communicate()
        raise AssertionError(f"eval did not finish in {timeout} s:\n{out}") from None
    return out


def assert_rebuilt_and_others_unaffected(results: Path, domain: str, victim: str, cause: str, out: str) -> None:
    summary = json.loads((results / "summary.json").read_text())
    assert summary["errored"] == 0 and summary["finished"] == summary["scheduled"], out
    assert {t["task_id"]: t["score"] for t in summary["tasks"]} == dict.fromkeys(
        (p.stem for p in (SUITE / "examples" / domain).glob("*.json")), 1.0)
    log = (results / domain / victim / "log.txt").read_text()
    assert "attempt 2" in log and cause in log, log  # the first attempt ended with the cause, the retry scored
    trajectory = read_trajectory(results / domain / victim / "trajectory")
    assert trajectory.info.outcome == "done" and trajectory.info.score == 1.0
    for task in (results / domain).iterdir():
        if task.name != victim:
            assert "attempt 2" not in (task / "log.txt").read_text(), task.name


@pytest.mark.desktop
def test_eval_rebuilds_the_desktop_when_its_x_server_dies_mid_episode(model_server, tmp_path: Path) -> None:
    server = model_server(None, "--solutions", str(SOLUTIONS), "--latency", "0.3")
    results = tmp_path / "r"
    process = kimi_agent_eval(server.base_url, results, SUITE / "examples" / "os")
    server.wait_for_request_about("rename draft.txt")
    kill_descendant(process.pid, "Xvfb")
    out = finish(process)
    assert process.returncode == 0, out
    assert_rebuilt_and_others_unaffected(results, "os", "terminal-rename-file", "DisplayLost", out)
    log = (results / "os" / "terminal-rename-file" / "log.txt").read_text()
    assert "exited with status -9" in log


@pytest.mark.browser
def test_eval_rebuilds_the_browser_when_chromium_dies_mid_episode(model_server, tmp_path: Path) -> None:
    server = model_server(None, "--solutions", str(SOLUTIONS), "--latency", "0.3")
    results = tmp_path / "r"
    process = kimi_agent_eval(server.base_url, results, SUITE / "examples" / "chrome")
    server.wait_for_request_about("Open the Pricing page")
    kill_descendant(process.pid, "chromium")
    out = finish(process)
    assert process.returncode == 0, out
    assert_rebuilt_and_others_unaffected(results, "chrome", "open-pricing-page", "BrowserLost: Chromium disconnected", out)


@pytest.mark.desktop
def test_a_stopped_application_costs_a_step_no_more_than_the_settle_cap(model_server, tmp_path: Path) -> None:
    # Few steps: a frozen window leaves the screen unchanged, which the runaway guard stops after 7.
    server = model_server([*moves(1), reply("Type.", "pyautogui.write('hello')"), *moves(1, start=50), DONE],
                          "--latency", "0.2")
    record = tmp_path / "rec"
    process = subprocess.Popen(
        [sys.executable, "-m", "agent", "run", "--env", "xvfb", "--size", "800x600", "--launch", "xterm -T hung",
         "--base-url", server.base_url, "--model", "replay", "--record", str(record), "--max-steps", "10", "type into it"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    server.wait_for_requests(1)
    [xterm] = [pid for pid, name in descendants(process.pid) if name == "xterm"]
    os.kill(xterm, signal.SIGSTOP)
    try:
        out = finish(process, timeout=120)
        survived = alive(xterm)
    finally:
        if alive(xterm):
            os.kill(xterm, signal.SIGCONT)
    assert process.returncode == 0, out
    [folder] = list(record.iterdir())
    steps = read_trajectory(folder).steps
    assert len(steps) == 4
    assert max(s.timings.settle for s in steps) <= SettleConfig().max_seconds + 0.5
    assert not survived  # the stopped xterm was killed with the run's desktop


def test_a_setup_command_that_never_ends_is_stopped_at_its_timeout(tmp_path: Path) -> None:
    machine = LocalMachine(tmp_path / "home", tmp_path / "cache", (800, 600))
    # Other tests' desktops may still run a `sleep` of their own: only new ones count.
    earlier = {pid for pid, name in descendants(os.getpid()) if name == "sleep"}
    started = time.monotonic()
    result = machine.execute(["sh", "-c", "sleep 600 & sleep 600"], timeout=1.0)
    assert time.monotonic() - started < 5
    assert result.returncode == -1 and "timed out after 1 s" in result.error
    assert not [pid for pid, name in descendants(os.getpid()) if name == "sleep" and pid not in earlier]  # the whole group is gone


# --- our VM server ----------------------------------------------------------------------------

@pytest.fixture
def vm(tmp_path: Path):
    (tmp_path / "vmroot").mkdir()
    with VirtualDesktop(800, 600) as desktop:
        server = VM(desktop, tmp_path / "vmroot")
        try:
            yield server
        finally:
            os.kill(server.process.pid, signal.SIGCONT)  # a test may leave it stopped
            server.stop()


def run_on_vm(vm_url: str, base_url: str, record: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "agent", "run", "--env", "osworld", "--vm-url", vm_url, "--base-url", base_url,
         "--model", "replay", "--record", str(record), "--max-steps", "50", "move around"],
        env={**os.environ, "KIMI_AGENT_VM_TIMEOUT": "2", "KIMI_AGENT_VM_RETRIES": "1"},
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )


def ended_as_error(record: Path, out: str, cause: str) -> None:
    [folder] = list(record.iterdir())
    trajectory = read_trajectory(folder)
    assert trajectory.info.outcome == "error" and cause in trajectory.info.error, out
    assert "outcome: error" in out and trajectory.torn_lines == 0


@pytest.mark.desktop
def test_a_vm_server_that_stops_answering_ends_the_episode_at_the_client_timeout(vm: VM, model_server, tmp_path: Path) -> None:
    server = model_server(moves(50))
    record = tmp_path / "rec"
    process = run_on_vm(vm.url, server.base_url, record)
    server.wait_for_requests(2)
    os.kill(vm.process.pid, signal.SIGSTOP)
    started = time.monotonic()
    out = finish(process, timeout=120)
    assert process.returncode == 1, out
    assert time.monotonic() - started < 30  # 2 s timeout, one retry of a read-only request at most
    ended_as_error(record, out, "environment: VMUnreachable")
    assert "no answer" in out


@pytest.mark.desktop
def test_a_vm_server_answering_500_ends_the_episode_with_its_message(vm: VM, model_server, tmp_path: Path) -> None:
    proxy = subprocess.Popen([sys.executable, "-m", "tests.faults.vm_proxy", vm.url], cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True)
    try:
        server = model_server(moves(50))
        record = tmp_path / "rec"
        process = run_on_vm(proxy.stdout.readline().split()[-1], server.base_url, record)
        server.wait_for_requests(2)
        os.kill(proxy.pid, signal.SIGUSR1)  # from now on every route answers 500
        out = finish(process, timeout=120)
    finally:
        proxy.kill()
        proxy.wait()
        proxy.stdout.close()
    assert process.returncode == 1, out
    ended_as_error(record, out, "environment: VMProtocolError")
    assert "injected fault: internal server error" in out


@pytest.mark.desktop
def test_a_vm_whose_display_dies_ends_the_episode_with_the_cause(vm: VM, model_server, tmp_path: Path) -> None:
    server = model_server(moves(50))
    record = tmp_path / "rec"
    process = run_on_vm(vm.url, server.base_url, record)
    server.wait_for_requests(2)
    os.kill(vm.desktop.server.pid, signal.SIGKILL)
    out = finish(process, timeout=120)
    assert process.returncode == 1, out
    ended_as_error(record, out, "environment: VMProtocolError")
    flat = " ".join(out.split()).lower()
    assert "display connection closed" in flat or "connect to display" in flat  # the server's watcher or pyautogui


@pytest.mark.desktop
def test_eval_reconnects_to_a_vm_that_answered_500_and_the_other_tasks_are_unaffected(vm: VM, model_server, tmp_path: Path) -> None:
    from tests.environments.remote.test_osworld_env import reply as vm_reply
    from tests.environments.remote.test_osworld_env import write_task

    root = vm.root
    for task_id in ("first", "victim", "last"):
        write_task(tmp_path, root, task_id, {
            "func": "compare_text_file",
            "result": {"type": "vm_file", "path": f"{root}/out-{task_id}.txt", "dest": "out.txt"},
            "expected": {"type": "cloud_file", "path": "../expected.txt", "dest": "expected.txt"},
            "postconfig": [{"type": "close_window", "parameters": {"window_name": f"t-{task_id}"}}],
        })
    solutions = tmp_path / "solutions"
    solutions.mkdir()
    for task_id in ("first", "victim", "last"):
        replies = [vm_reply("Write the file.", f"pyautogui.write(\"echo 'from the vm' > {root}/out-{task_id}.txt\\n\")"),
                   vm_reply("Done.", 'computer.terminate(status="success")')]
        instruction = f"Write 'from the vm' into {root}/out-{task_id}.txt using the terminal."
        (solutions / f"{task_id}.json").write_text(json.dumps({"instruction": instruction, "replies": replies}))
    # Once cued, the VM server answers the next request with a 500, then recovers.
    proxy = subprocess.Popen([sys.executable, "-m", "tests.faults.vm_proxy", vm.url, "--failures", "1"], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    model = model_server(None, "--solutions", str(solutions), "--latency", "0.5")
    results = tmp_path / "results"
    try:
        vm_url = proxy.stdout.readline().split()[-1]
        process = subprocess.Popen(
            [sys.executable, "-m", "agent", "eval", "--env", "osworld", "--vm-url", vm_url, "--tasks",
             str(tmp_path / "vmtasks"), "--results", str(results), "--base-url", model.base_url, "--model", "replay",
             "--retries", "1"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        )
        model.wait_for_request_about("out-victim.txt")  # its episode runs: the next VM request is its action
        os.kill(proxy.pid, signal.SIGUSR1)
        out = finish(process)
    finally:
        proxy.kill()
        proxy.wait()
        proxy.stdout.close()
    victim_log = results / "vmtasks" / "victim" / "log.txt"
    assert process.returncode == 0, out
    summary = json.loads((results / "summary.json").read_text())
    assert summary["errored"] == 0 and {t["task_id"]: t["score"] for t in summary["tasks"]} == {
        "first": 1.0, "victim": 1.0, "last": 1.0}, out
    log = victim_log.read_text()
    assert "VMProtocolError" in log and "injected fault: internal server error" in log and "attempt 2" in log, log
    for task_id in ("first", "last"):
        assert "attempt 2" not in (results / "vmtasks" / task_id / "log.txt").read_text()
