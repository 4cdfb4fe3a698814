"""`KimiOSWorld-v0` on our VM server: actions reach the VM as typed actions (`/act`) or, as OSWorld's
harness sends them, as generated pyautogui code; `kimi-agent run`/`eval --env osworld` drive it and score
tasks as OSWorld does."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import gymnasium
import pytest
from gymnasium.utils.env_checker import check_env

import environments  # noqa: F401  (registers the environments)
from environments.budget import ScoredTimeLimit
from tests.environments.remote.conftest import ROOT, VM

pytestmark = pytest.mark.desktop


def reply(intent: str, code: str) -> str:
    return f"◁think▷Looking at the screen.◁/think▷## Action:\n{intent}\n\n## Code:\n```python\n{code}\n```"


def wait_for(path: Path, timeout: float = 10.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().endswith("\n"):
            return path.read_text()
        time.sleep(0.05)
    raise AssertionError(f"{path} did not appear")


@pytest.mark.parametrize("act_by", ["auto", "code"])
def test_the_env_passes_check_env_and_acts_through_typed_actions_or_generated_code(vm: VM, act_by: str) -> None:
    env = ScoredTimeLimit(gymnasium.make("KimiOSWorld-v0", vm_url=vm.url, act_by=act_by), 10)
    try:
        check_env(env.unwrapped)
        vm.desktop.launch(["xterm", "-geometry", "80x24+0+0", "-T", "env-term"], cwd=vm.root)
        vm.desktop.wait_for_window("env-term")
        observation, _ = env.reset(options={"instruction": "write a file"})
        assert observation["screenshot"].shape == (800, 1280, 3)
        out = vm.root / f"angle-{act_by}.txt"
        for action in (
            {"type": "click", "at": {"x": 0.1, "y": 0.1, "space": "relative"}},
            {"type": "type", "text": f"echo 'a<b>c' > {out}"},
            {"type": "press", "keys": ["enter"]},
        ):
            _, _, _, _, info = env.step(json.dumps(action))
            assert info["result"].ok, info["result"].error
        assert wait_for(out) == "a<b>c\n"  # as code, '<' goes as shift+comma, as OSWorld's harness sends it
        assert env.unwrapped.executor.typed is (act_by == "auto")  # our server took every typed action
        _, _, terminated, _, info = env.step('{"type": "click", "at": {"x": 5, "y": 5, "space": "relative"}}')
        assert not terminated and "invalid action" in info["result"].error
    finally:
        env.close()
        subprocess.run(["wmctrl", "-c", "env-term"], env=vm.desktop.env, check=False)


def write_task(folder: Path, root: Path, task_id: str, evaluator: dict) -> Path:
    (folder / "expected.txt").write_text("from the vm\n")
    task = {
        "id": task_id, "instruction": f"Write 'from the vm' into {root}/out-{task_id}.txt using the terminal.",
        "config": [
            {"type": "execute", "parameters": {"command": ["rm", "-f", f"{root}/out-{task_id}.txt"]}},
            {"type": "launch", "parameters": {"command": ["xterm", "-geometry", "80x24+0+0", "-T", f"t-{task_id}"]}},
            {"type": "execute", "parameters": {"command": ["xdotool", "search", "--onlyvisible", "--name", f"t-{task_id}"],
                                               "until": {"returncode": 0}}},
            {"type": "activate_window", "parameters": {"window_name": f"t-{task_id}"}},
        ],
        "evaluator": evaluator,
    }
    path = folder / "vmtasks" / f"{task_id}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(task))
    return path


def test_eval_scores_tasks_on_the_vm_as_osworld_does(vm: VM, tmp_path: Path) -> None:
    root = vm.root
    file_check = {
        "func": "compare_text_file",
        "result": {"type": "vm_file", "path": f"{root}/out-{{id}}.txt", "dest": "out.txt"},
        "expected": {"type": "cloud_file", "path": "../expected.txt", "dest": "expected.txt"},
        "postconfig": [{"type": "close_window", "parameters": {"window_name": "t-{id}"}}],
    }
    for task_id in ("solved", "unsolved"):
        write_task(tmp_path, root, task_id, json.loads(json.dumps(file_check).replace("{id}", task_id)))
    write_task(tmp_path, root, "infeasible", {"func": "infeasible"})
    solutions = tmp_path / "solutions"
    solutions.mkdir()
    scripts = {
        "solved": [reply("Write the file.", f"pyautogui.write(\"echo 'from the vm' > {root}/out-solved.txt\\n\")"),
                   reply("Done.", 'computer.terminate(status="success")')],
        "unsolved": [reply("Done.", 'computer.terminate(status="success")')],
        "infeasible": [reply("This cannot be done.", 'computer.terminate(status="failure")')],
    }
    for task_id, replies in scripts.items():
        instruction = f"Write 'from the vm' into {root}/out-{task_id}.txt using the terminal."
        (solutions / f"{task_id}.json").write_text(json.dumps({"instruction": instruction, "replies": replies}))
    model = subprocess.Popen([sys.executable, "-m", "agent.backends.scripted_server", "--solutions", str(solutions),
                              "--port", "0"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        base_url = model.stdout.readline().split()[-1] + "/v1"
        results = tmp_path / "results"
        done = subprocess.run(
            [sys.executable, "-m", "agent", "eval", "--env", "osworld", "--vm-url", vm.url, "--tasks",
             str(tmp_path / "vmtasks"), "--results", str(results), "--base-url", base_url, "--model", "replay"],
            cwd=ROOT, capture_output=True, text=True, timeout=300,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        scores = {f.parent.name: float(f.read_text()) for f in results.glob("*/*/result.txt")}
        assert scores == {"solved": 1.0, "unsolved": 0.0, "infeasible": 1.0}
        assert (root / "out-solved.txt").read_text() == "from the vm\n"
    finally:
        model.terminate()
        model.wait()
        model.stdout.close()


def test_waa_reset_closes_every_window_and_runs_waa_setup_steps(vm: VM, tmp_path: Path) -> None:
    env = ScoredTimeLimit(gymnasium.make("KimiOSWorld-v0", vm_url=vm.url, flavor="waa"), 3)
    try:
        vm.client().launch(["xterm", "-T", "left-open"])
        vm.desktop.wait_for_window("left-open")
        task = {
            "id": "waa-steps", "instruction": "Nothing to do.", "_comments": "WindowsAgentArena style",
            "config": [
                {"type": "create_folder", "parameters": {"path": str(vm.root / "made" / "here")}},
                {"type": "recycle_file", "parameters": {"path": str(vm.root / "old.txt")}},
            ],
            "evaluator": {"func": "exact_match", "result": {"type": "vm_command_line", "command": ["ls", str(vm.root / "made")]},
                          "expected": {"type": "rule", "rules": {"expected": "here\n"}}},
        }
        (vm.root / "old.txt").write_text("old")
        path = tmp_path / "waa-steps.json"
        path.write_text(json.dumps(task))
        env.reset(options={"task": str(path)})
        titles = subprocess.run(["wmctrl", "-l"], env=vm.desktop.env, capture_output=True, text=True).stdout
        assert "left-open" not in titles  # WAA's reset: /setup/close_all, /setup/clear_task_files
        assert (vm.root / "made" / "here").is_dir() and not (vm.root / "old.txt").exists()
        _, reward, terminated, _, _ = env.step('{"type": "done"}')
        assert (reward, terminated) == (1.0, True)
    finally:
        env.close()


def test_two_workers_each_drive_their_own_vm(tmp_path: Path) -> None:
    from environments.virtual_desktop import VirtualDesktop

    with VirtualDesktop(1280, 800) as first_desktop, VirtualDesktop(1280, 800) as second_desktop:
        first = VM(first_desktop, tmp_path, log=tmp_path / "first.log")
        second = VM(second_desktop, tmp_path, log=tmp_path / "second.log")
        try:
            tasks = tmp_path / "tasks" / "os"
            tasks.mkdir(parents=True)
            solutions = tmp_path / "solutions"
            solutions.mkdir()
            for n in range(4):
                instruction = f"Say hello number {n}."
                task = {"id": f"hello-{n}", "instruction": instruction, "config": [],
                        "evaluator": {"func": "check_include_exclude",
                                      "result": {"type": "vm_command_line", "command": ["echo", f"hello {n}"]},
                                      "expected": {"type": "rule", "rules": {"include": [f"hello {n}"]}}}}
                (tasks / f"hello-{n}.json").write_text(json.dumps(task))
                (solutions / f"hello-{n}.json").write_text(json.dumps(
                    {"instruction": instruction, "replies": [reply("Done.", 'computer.terminate(status="success")')]}))
            model = subprocess.Popen([sys.executable, "-m", "agent.backends.scripted_server", "--solutions", str(solutions),
                                      "--port", "0"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            try:
                base_url = model.stdout.readline().split()[-1] + "/v1"
                results = tmp_path / "results"
                done = subprocess.run(
                    [sys.executable, "-m", "agent", "eval", "--env", "osworld", "--vm-url", first.url, "--vm-url", second.url,
                     "--workers", "2", "--tasks", str(tmp_path / "tasks"), "--results", str(results),
                     "--base-url", base_url, "--model", "replay"],
                    cwd=ROOT, capture_output=True, text=True, timeout=300,
                )
            finally:
                model.terminate()
                model.wait()
                model.stdout.close()
            assert done.returncode == 0, done.stdout + done.stderr
            assert {f.parent.name: float(f.read_text()) for f in results.glob("*/*/result.txt")} == {
                f"hello-{n}": 1.0 for n in range(4)}
        finally:
            first.stop()
            second.stop()
        for log in ("first.log", "second.log"):  # each worker drove its own VM
            assert "GET /screenshot" in (tmp_path / log).read_text()
