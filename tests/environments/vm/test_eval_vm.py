"""`kimi-agent eval --provider qemu` for real under TCG: each worker boots one VM from our small image and
restores its `init_state` snapshot before every task after the first.

Three tasks (eval_data/): `a` leaves a file in the home folder, `b` scores 1 only when that file is absent,
`c` (20 s of setup) checks the same. With revert, `b` scores 1; without it, 0: the revert is what matters.
The shipped suite's text-editor tasks and two of its terminal tasks (GNOME Terminal's stand-in in the guest,
its output read through the server's `/terminal`), run in the same VM, score as they do on `--env xvfb`.
QEMU killed during `c` → that attempt errors, the VM is rebooted and `c` scores on the fresh VM. `--vms 2`
runs two VMs at once, and SIGKILL of `eval` leaves no QEMU. Three evals, four VM boots in all.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from environments.tasks.suite import SOLUTIONS, SUITE
from tests.environments.vm.conftest import VNC_DISPLAYS  # noqa: F401  (skips the module without QEMU)
from tests.processes import alive

ROOT = Path(__file__).resolve().parents[3]
DATA = Path(__file__).parent / "eval_data"
TASKS = DATA / "tasks" / "vmcheck"
QEMU = "qemu-system-x86"
"""A QEMU process's name in /proc/PID/comm (cut to 15 characters)."""


def _eval_argv(image: Path, tasks: Path, results: Path, *extra: str,
               solutions: Path = DATA / "solutions") -> list[str]:
    return [sys.executable, "-m", "agent", "eval", "--provider", "qemu", "--vm-image", str(image),
            "--accel", "tcg", "--vm-vnc-displays", "50-59", "--backend", "scripted",
            "--script", str(solutions), "--model", "replay", "--tasks", str(tasks),
            "--results", str(results), *extra]


def _tasks(tmp_path: Path, *ids: str) -> Path:
    folder = tmp_path / "tasks" / "vmcheck"
    folder.mkdir(parents=True)
    for task_id in ids:
        shutil.copy(TASKS / f"{task_id}.json", folder)
    return folder.parent


def _scores(results: Path) -> dict[str, float]:
    return {f.parent.name: float(f.read_text()) for f in results.glob("*/*/result.txt")}


def _log(results: Path, task_id: str, domain: str = "vmcheck") -> str:
    try:
        return (results / domain / task_id / "log.txt").read_text()
    except OSError:
        return ""


def _flat(text: str) -> str:
    """Terminal output with rich's line wrapping undone."""
    return " ".join(text.split())


def _qemus_under(root: int) -> list[int]:
    """QEMU processes descending from `root` (children of its worker processes, whatever their session)."""
    parents: dict[int, int] = {}
    names: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            names[int(entry.name)] = (entry / "comm").read_text().strip()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found = []
    for pid, name in names.items():
        ancestor = parents.get(pid)
        while ancestor and ancestor != root:
            ancestor = parents.get(ancestor)
        if ancestor == root and name == QEMU:
            found.append(pid)
    return found


def _wait(condition: Callable[[], bool], timeout: float, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, f"eval ended early: {process.communicate()}"
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


SUITE_TASKS = {"text_editor": ("mousepad-append-line", "mousepad-json-setting"),
               "os": ("terminal-write-file", "terminal-arithmetic")}
"""The shipped suite's tasks the small image can run (no browser, no office), checked against xvfb."""


def _with_suite_tasks(tmp_path: Path) -> tuple[Path, Path]:
    """Our three tasks plus `SUITE_TASKS` (their files beside, as in the suite), and a solutions folder
    for all of them."""
    tasks, solutions = tmp_path / "tasks", tmp_path / "solutions"
    shutil.copytree(TASKS, tasks / "vmcheck")
    shutil.copytree(SUITE / "files", tmp_path / "files")
    shutil.copytree(DATA / "solutions", solutions)
    for domain, ids in SUITE_TASKS.items():
        (tasks / domain).mkdir()
        for task_id in ids:
            shutil.copy(SUITE / "examples" / domain / f"{task_id}.json", tasks / domain)
            shutil.copy(SOLUTIONS / f"{task_id}.json", solutions)
    return tasks, solutions


def test_revert_before_each_task_and_a_killed_vm_is_rebooted_with_its_task_retried(
        small_image: Path, tmp_path: Path) -> None:
    """Also: some of the suite's tasks run inside the VM through its server and score as on xvfb."""
    results = tmp_path / "results"
    tasks, solutions = _with_suite_tasks(tmp_path)
    process = subprocess.Popen(_eval_argv(small_image, tasks, results, solutions=solutions), cwd=ROOT,
                               text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        # `c` sleeps 20 s in its setup, inside the VM: kill QEMU then, mid-task
        _wait(lambda: "vm: reverted" in _log(results, "c-slow-clean-home"), 400, process)
        time.sleep(6)  # into the sleep of c's setup
        (qemu,) = _qemus_under(process.pid)
        os.kill(qemu, signal.SIGKILL)
        output, _ = process.communicate(timeout=600)
    finally:
        process.kill()
    assert process.returncode == 0, output
    # reverted before b: the file a left is gone; c ran again on the rebooted VM: nothing lost
    on_xvfb = tmp_path / "on-xvfb"
    suite_only = tmp_path / "suite-only"
    for domain in SUITE_TASKS:
        shutil.copytree(tasks / domain, suite_only / domain)
    local = subprocess.run([sys.executable, "-m", "agent", "eval", "--env", "xvfb", "--backend", "scripted",
                            "--script", str(solutions), "--model", "replay", "--tasks",
                            str(suite_only), "--results", str(on_xvfb)],
                           cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert local.returncode == 0, local.stdout + local.stderr
    assert _scores(on_xvfb) == {task_id: 1.0 for ids in SUITE_TASKS.values() for task_id in ids}
    assert _scores(results) == {"a-leave-file": 1.0, "b-needs-clean-home": 1.0, "c-slow-clean-home": 1.0,
                                **_scores(on_xvfb)}
    assert "vm: reverted (snapshot)" in _log(results, "b-needs-clean-home")
    log = _log(results, "c-slow-clean-home")
    assert "errored: VMUnreachable" in log and "vm: the VM stopped answering: killed, booting it again" in log
    assert "vm: rebooted in" in log and re.search(r"attempt 2, .*\d\d:\d\d:\d\d score 1", log, re.DOTALL)
    summary = json.loads((results / "summary.json").read_text())
    manifest = json.loads((results / "manifest.json").read_text())
    with open(small_image, "rb") as image:
        digest = hashlib.file_digest(image, "sha256").hexdigest()
    assert summary["comparable"] is True and summary["notes"] == [] and manifest["comparable"] is True
    assert manifest["vm"] == {"provider": "qemu", "image_path": str(small_image.resolve()),
                              "image_sha256": digest, "revert_policy": "snapshot", "revert_command": None,
                              "accel": "tcg", "firmware": "bios", "uefi_vars": None, "tpm": False,
                              "disk_bus": "virtio"}
    assert manifest["identity"]["image"] == f"small.qcow2 sha256:{digest}"
    assert "qemu VMs reverted (snapshot) before every task" in _flat(output)
    assert not _qemus_under(process.pid)


def test_without_revert_the_second_task_sees_the_first_ones_file_and_the_run_is_not_comparable(
        small_image: Path, tmp_path: Path) -> None:
    results = tmp_path / "results"
    tasks = _tasks(tmp_path, "a-leave-file", "b-needs-clean-home")
    done = subprocess.run(_eval_argv(small_image, tasks, results, "--no-revert"),
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert _scores(results) == {"a-leave-file": 1.0, "b-needs-clean-home": 0.0}
    assert "vm: not reverted (revert policy none)" in _log(results, "b-needs-clean-home")
    episode = json.loads((results / "vmcheck" / "a-leave-file" / "trajectory" / "episode.json").read_text())
    host, _, port = episode["vnc"].rpartition(":")  # where a person watches the task (viewer, --watch page)
    assert ipaddress.ip_address(host).is_loopback and port == "5900"  # the VM's own loopback address
    summary = json.loads((results / "summary.json").read_text())
    assert summary["comparable"] is False
    assert summary["notes"][0].startswith("not comparable: the VMs are not reverted")
    printed = _flat(done.stdout)
    assert "NOT COMPARABLE" in printed and "not comparable: the VMs are not reverted" in printed
    report = subprocess.run([sys.executable, "-m", "agent", "eval", "--report", str(results)], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert report.returncode == 0 and "NOT COMPARABLE" in _flat(report.stdout), report.stdout + report.stderr


def test_two_vms_at_once_and_sigkill_of_eval_leaves_no_qemu(small_image: Path, tmp_path: Path) -> None:
    results = tmp_path / "results"
    process = subprocess.Popen(_eval_argv(small_image, _tasks(tmp_path, "a-leave-file", "c-slow-clean-home"),
                                          results, "--vms", "2"),
                               cwd=ROOT, text=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # both workers booted their own VM and started a task on it
        _wait(lambda: all("vm: pristine" in _log(results, t) for t in ("a-leave-file", "c-slow-clean-home")),
              480, process)
        qemus = _qemus_under(process.pid)
        assert len(qemus) == 2
        names = {found[1] for t in ("a-leave-file", "c-slow-clean-home")
                 if (found := re.search(r"vm: (kimi-eval-\d+): server http", _log(results, t)))}
        assert len(names) == 2, names  # two VMs, one per worker
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
        deadline = time.monotonic() + 20
        while any(map(alive, qemus)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(map(alive, qemus)), "a QEMU outlived the SIGKILLed eval"
    finally:
        process.kill()
