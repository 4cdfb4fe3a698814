"""No process outlives `kimi-agent eval`: SIGKILL of the driver or of a worker, and Ctrl+C, leave no
worker, Xvfb, app or Chromium behind (checked in /proc); a results folder has one writer; Ctrl+C
is one clean line and status 130, after which summary.json and `eval --report` agree.
Real processes, real signals; the model is a SCRIPTED stand-in answering after a delay."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from environments.tasks.suite import SOLUTIONS

pytestmark = [pytest.mark.desktop, pytest.mark.browser]
ROOT = Path(__file__).resolve().parents[2]
SESSION_PROGRAMS = ("Xvfb", "chromium", "chrome", "mousepad", "openbox", "xterm", "tmux")


@pytest.fixture
def slow_model() -> Iterator[str]:
    """The suite's solutions, each answer after 1 s, so tasks are mid-episode when the signal comes."""
    server = subprocess.Popen(
        [sys.executable, "-m", "agent.backends.scripted_server", "--solutions", str(SOLUTIONS), "--port", "0",
         "--latency", "1.0"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    yield server.stdout.readline().split()[-1] + "/v1"
    server.terminate()
    server.wait()
    server.stdout.close()


def eval_args(base_url: str, results: Path, *extra: str, workers: str = "2") -> list[str]:
    return [sys.executable, "-m", "agent", "eval", "--base-url", base_url, "--model", "replay", "--results",
            str(results), "--workers", workers, *extra]


def processes() -> dict[int, tuple[int, str, str]]:
    """pid → (parent pid, state, command name) of every process."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            rest = stat.rsplit(")", 1)[1].split()
            found[int(entry)] = (int(rest[1]), rest[0], stat[stat.index("(") + 1:stat.rindex(")")])
    return found


def descendants(pid: int) -> dict[int, str]:
    table, found, todo = processes(), {}, [pid]
    while todo:
        parent = todo.pop()
        for child, (ppid, _, name) in table.items():
            if ppid == parent and child not in found:
                found[child] = name
                todo.append(child)
    return found


def alive(pids: dict[int, str]) -> dict[int, str]:
    """The processes of `pids` still running (zombies waiting for their reaper are gone)."""
    table = processes()
    return {pid: name for pid, name in pids.items() if pid in table and table[pid][1] != "Z"}


def marked(token: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        try:
            if not entry.isdigit():
                continue
            environ = Path(f"/proc/{entry}/environ").read_bytes().split(b"\0")
            live = processes().get(int(entry), (0, "Z"))[1] != "Z"
            if f"KIMI_AGENT_RUN={token}".encode() in environ and live:
                found.append(int(entry))
        except OSError:
            continue
    return found


def wait_for_session(pid: int, timeout: float = 150) -> dict[int, str]:
    """The descendants of `pid` once a task's desktop or browser runs under it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = descendants(pid)
        if any(name.startswith(SESSION_PROGRAMS) for name in found.values()):
            time.sleep(1.0)  # let the session start its apps too
            return descendants(pid)
        time.sleep(0.2)
    raise AssertionError(f"no desktop or browser started under pid {pid} in {timeout} s")


def wait_gone(pids: dict[int, str], timeout: float = 20) -> dict[int, str]:
    deadline = time.monotonic() + timeout
    while (left := alive(pids)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


def run_token(results: Path) -> str:
    return json.loads((results / ".lock").read_text())["run"]


@pytest.mark.parametrize("workers", ["1", "2"])
def test_sigkill_of_the_driver_leaves_no_process_and_a_rerun_resumes(
    workers: str, slow_model: str, tmp_path: Path,
) -> None:
    """With one worker the desktop belongs to the driver itself; with two, to worker processes."""
    results = tmp_path / "r"
    driver = subprocess.Popen(eval_args(slow_model, results, workers=workers), cwd=ROOT,
                              stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        tree = wait_for_session(driver.pid)
        token = run_token(results)
        assert any(name.startswith(SESSION_PROGRAMS) for name in tree.values()), tree
        driver.kill()  # the driver alone: its workers, desktops and browsers must follow
        driver.wait()
        assert wait_gone(tree) == {}, f"left running after SIGKILL of the driver: {alive(tree)}"
        assert marked(token) == []
        # At once, into the same folder: it waits for the lock while the killed run is cleaned up,
        # then resumes (no collision with what the killed run left).
        again = subprocess.Popen(eval_args(slow_model, results, workers=workers), cwd=ROOT,
                                 stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True, start_new_session=True)
        wait_for_session(again.pid)
        os.killpg(again.pid, signal.SIGINT)
        out, err = again.communicate(timeout=120)
        assert again.returncode == 130 and "being written" not in out, out + err
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
            driver.wait()


def test_sigkill_of_a_worker_leaves_none_of_its_processes_and_the_run_goes_on(
    slow_model: str, tmp_path: Path,
) -> None:
    results = tmp_path / "r"
    tasks = ROOT / "environments/tasks/suite/examples/os"
    driver = subprocess.Popen(eval_args(slow_model, results, "--tasks", str(tasks), "--retries", "0"),
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              start_new_session=True)
    try:
        wait_for_session(driver.pid)
        table = processes()
        workers = [pid for pid in descendants(driver.pid) if table.get(pid, (0,))[0] == driver.pid
                   and any(name.startswith(SESSION_PROGRAMS) for name in descendants(pid).values())]
        assert workers, descendants(driver.pid)
        victim = workers[0]
        tree = descendants(victim)
        os.kill(victim, signal.SIGKILL)
        assert wait_gone(tree) == {}, f"left running after SIGKILL of a worker: {alive(tree)}"
        assert driver.poll() is None  # the run goes on
        out, err = driver.communicate(timeout=400)
        assert driver.returncode == 1, out + err  # the killed worker's task errored
        assert "worker process died" in out
        summary = json.loads((results / "summary.json").read_text())
        assert summary["scheduled"] == 6 and summary["errored"] >= 1 and summary["interrupted"] == 0
        assert marked(run_token(results)) == []
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
            driver.wait()


def test_ctrl_c_is_one_clean_line_status_130_and_the_summary_agrees_with_the_report(
    slow_model: str, tmp_path: Path,
) -> None:
    results = tmp_path / "r"
    driver = subprocess.Popen(eval_args(slow_model, results), cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, start_new_session=True,
                              env={**os.environ, "COLUMNS": "200"})
    try:
        tree = wait_for_session(driver.pid)
        os.killpg(driver.pid, signal.SIGINT)  # what a terminal's Ctrl+C does: the whole foreground group
        out, err = driver.communicate(timeout=120)
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
            driver.wait()
    assert driver.returncode == 130, out + err
    assert "Traceback" not in out + err and "KeyboardInterrupt" not in out + err, out + err
    assert out.count("interrupted: scored tasks are kept") == 1
    assert err.strip() == "" or "warning: unknown model" in err, err
    assert wait_gone(tree) == {}
    summary = json.loads((results / "summary.json").read_text())
    assert summary["interrupted"] >= 1 and summary["scheduled"] == 14
    report = subprocess.run([sys.executable, "-m", "agent", "eval", "--report", str(results)], cwd=ROOT,
                            capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": "200"})
    row = next(line for line in report.stdout.splitlines() if "│ all" in line)
    numbers = re.findall(r"[0-9.]+", row)
    counts = [str(summary[k]) for k in ("scheduled", "scored", "errored", "unsupported", "interrupted")]
    assert numbers[:6] == [*counts, f"{summary['mean_score']:.3f}"], (row, summary)


def test_a_second_eval_into_a_folder_being_written_says_who_holds_it(slow_model: str, tmp_path: Path) -> None:
    results = tmp_path / "r"
    first = subprocess.Popen(eval_args(slow_model, results), cwd=ROOT, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not (results / "manifest.json").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        second = subprocess.run(eval_args(slow_model, results), cwd=ROOT, capture_output=True, text=True,
                                timeout=120,
                                env={**os.environ, "COLUMNS": "300"})
        assert second.returncode == 2, second.stdout + second.stderr
        assert f"being written by another eval (pid {first.pid} on " in second.stdout
        assert "Traceback" not in second.stdout + second.stderr
    finally:
        os.killpg(first.pid, signal.SIGINT)
        first.wait(timeout=120)
