"""Interoperability check against OSWorld's own VM server (not shipped: bring your checkout).

    .venv/bin/python -m benchmarks.osworld_interop \\
        --server "python3 /path/to/OSWorld/desktop_env/server/main.py" --port 5000 [--python-bin DIR]

Starts a virtual desktop, runs the given server on it, then drives it with kimi-agent:
`run --env osworld` (a replayed model types `echo 'a<b' > FILE` into a terminal) and
`eval --env osworld` on three tasks (solved → 1, unsolved → 0, infeasible with a final FAIL
→ 1). `--python-bin` goes first on the server's PATH: OSWorld's harness runs each action as
`python -c ...`, so `python` there must have pyautogui, as on OSWorld's VMs. The model is a
SCRIPTED stand-in (no model is used). Prints what it checked and exits 1 on any mismatch.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from environments.virtual_desktop import VirtualDesktop

ROOT = Path(__file__).resolve().parents[1]


def reply(intent: str, code: str) -> str:
    return f"◁think▷Looking at the screen.◁/think▷## Action:\n{intent}\n\n## Code:\n```python\n{code}\n```"


def stand_in(*source: str) -> tuple[subprocess.Popen, str]:
    model = subprocess.Popen([sys.executable, "-m", "agent.backends.scripted_server", *source, "--port", "0"],
                             cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return model, model.stdout.readline().split()[-1] + "/v1"


def check_run(desktop: VirtualDesktop, url: str, work: Path) -> bool:
    """The model's actions, including a '<', reach a terminal through the server's /execute."""
    desktop.launch(["xterm", "-geometry", "80x24+0+0", "-T", "interop-term"], cwd=work)
    desktop.wait_for_window("interop-term")
    out = work / "from-run.txt"
    script = work / "run.json"
    script.write_text(json.dumps({"replies": [
        reply("Focus the terminal.", "pyautogui.click(x=0.1, y=0.1)"),
        reply("Write.", f"pyautogui.write(\"echo 'a<b' > {out}\\n\")"),
        reply("Done.", 'computer.terminate(status="success")'),
    ]}))
    model, base_url = stand_in("--script", str(script))
    try:
        done = subprocess.run([sys.executable, "-m", "agent", "run", "--env", "osworld", "--vm-url", url, "--base-url",
                               base_url, "--model", "replay", "--record", str(work / "recordings"), "write a<b"],
                              cwd=ROOT, capture_output=True, text=True, check=False)
    finally:
        model.terminate()
    time.sleep(0.5)
    written = out.read_text() if out.exists() else None
    print(f"run --env osworld: exit {done.returncode}, the terminal wrote {written!r} (expected 'a<b\\n')")
    subprocess.run(["wmctrl", "-c", "interop-term"], env=desktop.env, check=False)
    return done.returncode == 0 and written == "a<b\n"


def check_eval(url: str, work: Path) -> bool:
    """Setup (launch, execute with until, activate_window, upload_file) and scoring through the server."""
    tasks, solutions = work / "tasks" / "os", work / "solutions"
    tasks.mkdir(parents=True)
    solutions.mkdir()
    (work / "tasks" / "expected.txt").write_text("from the vm\n")
    done_reply = reply("Done.", 'computer.terminate(status="success")')
    plans = {
        "solved": [reply("Write.", f"pyautogui.write(\"echo 'from the vm' > {work}/out-solved.txt\\n\")"), done_reply],
        "unsolved": [done_reply],
        "infeasible": [reply("This cannot be done.", 'computer.terminate(status="failure")')],
    }
    for task_id, replies in plans.items():
        instruction = f"Write 'from the vm' into {work}/out-{task_id}.txt using the terminal."
        evaluator = {"func": "infeasible"} if task_id == "infeasible" else {
            "func": "compare_text_file",
            "result": {"type": "vm_file", "path": f"{work}/out-{task_id}.txt", "dest": "out.txt"},
            "expected": {"type": "cloud_file", "path": "../expected.txt", "dest": "expected.txt"},
            "postconfig": [{"type": "close_window", "parameters": {"window_name": f"t-{task_id}"}}],
        }
        task = {"id": task_id, "instruction": instruction, "evaluator": evaluator, "config": [
            {"type": "launch", "parameters": {"command": ["xterm", "-geometry", "80x24+0+0", "-T", f"t-{task_id}"]}},
            {"type": "execute", "parameters": {"command": ["xdotool", "search", "--onlyvisible", "--name", f"t-{task_id}"],
                                               "until": {"returncode": 0}}},
            {"type": "activate_window", "parameters": {"window_name": f"t-{task_id}"}},
            {"type": "upload_file", "parameters": {"files": [{"local_path": "../expected.txt",
                                                              "path": f"{work}/uploaded-{task_id}.txt"}]}},
        ]}
        (tasks / f"{task_id}.json").write_text(json.dumps(task))
        (solutions / f"{task_id}.json").write_text(json.dumps({"instruction": instruction, "replies": replies}))
    model, base_url = stand_in("--solutions", str(solutions))
    try:
        done = subprocess.run([sys.executable, "-m", "agent", "eval", "--env", "osworld", "--vm-url", url, "--tasks",
                               str(work / "tasks"), "--results", str(work / "results"), "--base-url", base_url,
                               "--model", "replay"], cwd=ROOT, capture_output=True, text=True, check=False)
    finally:
        model.terminate()
    scores = {f.parent.name: float(f.read_text()) for f in (work / "results").glob("*/*/result.txt")}
    uploads = len(list(work.glob("uploaded-*.txt")))
    print(f"eval --env osworld: exit {done.returncode}, scores {scores} "
          f"(expected solved 1, unsolved 0, infeasible 1); files uploaded by setup: {uploads}/3")
    return done.returncode == 0 and scores == {"solved": 1.0, "unsolved": 0.0, "infeasible": 1.0} and uploads == 3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", required=True, help="the command that starts OSWorld's server")
    parser.add_argument("--port", type=int, default=5000, help="the port it listens on")
    parser.add_argument("--python-bin", help="a folder whose `python` has pyautogui, first on the server's PATH")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="osworld-interop-"))
    with VirtualDesktop(1280, 800) as desktop:
        env = {**desktop.env, "PORT": str(args.port)}
        if args.python_bin:
            env["PATH"] = args.python_bin + os.pathsep + env["PATH"]
        with open(work / "server.log", "w") as log:
            server = subprocess.Popen(shlex.split(args.server), env=env, stdout=subprocess.DEVNULL, stderr=log,
                                      start_new_session=True)
        url = f"http://127.0.0.1:{args.port}"
        try:
            for _ in range(300):
                try:
                    httpx.get(url + "/platform", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            ok = check_run(desktop, url, work) & check_eval(url, work)
        finally:
            os.killpg(server.pid, 15)
            server.wait()
    print(f"{'interoperable' if ok else 'MISMATCH'}; files in {work}")
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
