"""`kimi-agent eval --executor ray --provider qemu` for real under TCG: each Ray actor boots its own VM from
our small image, restores its `init_state` snapshot before every task after the first (as local workers
do), and its QEMU dies with it, whether the actor or the `eval` driving it is SIGKILLed.

The tasks are the local VM tests' (tests/environments/vm/eval_data): `a` leaves a file in the home folder,
`b` scores 1 only when that file is absent, `c` (20 s of setup) checks the same. The model is a SCRIPTED
stand-in (recorded replies). Two evals, three VM boots in all, on the two-node loopback cluster.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.environments.vm.conftest import small_image  # noqa: F401  (the fixture; skips without QEMU)
from tests.ray.conftest import ROOT, RayCluster
from tests.processes import alive

pytest.importorskip("ray", reason="the Ray executor's tests need the 'ray' extra")
DATA = ROOT / "tests" / "environments" / "vm" / "eval_data"
QEMU = "qemu-system-x86"
"""A QEMU process's name in /proc/PID/comm (cut to 15 characters)."""
ACTOR = re.compile(r"worker ray actor pid (\d+) on ")


def _eval(cluster: RayCluster, image: Path, tmp_path: Path, *ids: str) -> tuple[list[str], Path]:
    """The command of a one-actor ray eval of tasks `ids` on VMs booted from `image`; its results folder."""
    tasks = tmp_path / "tasks" / "vmcheck"
    tasks.mkdir(parents=True)
    for task_id in ids:
        shutil.copy(DATA / "tasks" / "vmcheck" / f"{task_id}.json", tasks)
    results = tmp_path / "results"
    return [sys.executable, "-m", "agent", "eval", "--executor", "ray", "--ray-address", cluster.address,
            "--actor-cpus", "0.5", "--provider", "qemu", "--vm-image", str(image), "--accel", "tcg",
            "--vm-vnc-displays", "60-69", "--backend", "scripted", "--script", str(DATA / "solutions"),
            "--model", "replay", "--tasks", str(tasks.parent), "--results", str(results)], results


def _log(results: Path, task_id: str) -> str:
    try:
        return (results / "vmcheck" / task_id / "log.txt").read_text()
    except OSError:
        return ""


def _qemus_of(parent: int) -> list[int]:
    """The QEMU processes whose parent is `parent` (an actor process)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if (entry.name.isdigit() and (entry / "comm").read_text().strip() == QEMU
                    and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == parent):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def _wait(condition: Callable[[], bool], timeout: float, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, f"eval ended early: {process.communicate()}{_output(process)}"
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def _output(process: subprocess.Popen) -> str:
    """What an eval whose output went to a file printed (its argv names the results folder beside it)."""
    out = Path(process.args[-1]).parent / "eval.out"
    return out.read_text(errors="replace") if out.exists() else ""


def _gone(pids: list[int], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while any(map(alive, pids)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return not any(map(alive, pids))


def _remove_overlay(actor: int) -> None:
    """Delete the folder (overlay, logs) of the VM of a SIGKILLed actor: nothing was left to delete it."""
    for folder in Path(tempfile.gettempdir()).glob(f"kimi-eval-{actor}-*"):
        shutil.rmtree(folder, ignore_errors=True)


def _actor_and_qemu(results: Path, task_id: str) -> tuple[int, int]:
    """The pid of the actor running `task_id` (named in its log) and of the one QEMU it owns."""
    found = ACTOR.search(_log(results, task_id))
    assert found, _log(results, task_id)
    actor = int(found[1])
    (qemu,) = _qemus_of(actor)
    return actor, qemu


def test_an_actor_reverts_its_own_vm_before_each_task_and_its_qemu_dies_with_it(
        ray_cluster: RayCluster, small_image: Path, tmp_path: Path) -> None:  # noqa: F811
    argv, results = _eval(ray_cluster, small_image, tmp_path, "a-leave-file", "b-needs-clean-home",
                          "c-slow-clean-home")
    process = subprocess.Popen(argv, cwd=ROOT, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               env={**os.environ, "COLUMNS": "200"})
    try:
        # one actor ran a, then b on its reverted VM; now c sleeps 20 s in its setup: SIGKILL the actor then
        _wait(lambda: "vm: reverted" in _log(results, "c-slow-clean-home"), 600, process)
        time.sleep(6)
        actor, qemu = _actor_and_qemu(results, "c-slow-clean-home")
        os.kill(actor, signal.SIGKILL)
        assert _gone([qemu], 20), "the QEMU of a SIGKILLed actor outlived it"
        _remove_overlay(actor)
        output, _ = process.communicate(timeout=600)
    finally:
        process.kill()
    assert process.returncode == 0, output
    scores = {f.parent.name: float(f.read_text()) for f in results.glob("*/*/result.txt")}
    # reverted before b: the file a left is gone; c ran again on a new actor's fresh VM
    assert scores == {"a-leave-file": 1.0, "b-needs-clean-home": 1.0, "c-slow-clean-home": 1.0}, output
    assert "vm: reverted (snapshot)" in _log(results, "b-needs-clean-home")
    first = {pid for t in ("a-leave-file", "b-needs-clean-home") for pid in ACTOR.findall(_log(results, t))}
    assert len(first) == 1
    log = _log(results, "c-slow-clean-home")  # the rerun's alone (a requeued task starts a fresh log)
    assert int(ACTOR.findall(log)[-1]) != actor and "vm: pristine" in log
    assert "vmcheck/c-slow-clean-home: its Ray actor died" in " ".join(output.split())
    summary = json.loads((results / "summary.json").read_text())
    manifest = json.loads((results / "manifest.json").read_text())
    assert [t["task_id"] for t in summary["tasks"] if t["requeued"]] == ["c-slow-clean-home"]
    with open(small_image, "rb") as image:
        digest = hashlib.file_digest(image, "sha256").hexdigest()
    assert summary["comparable"] is True and manifest["comparable"] is True and manifest["executor"] == "ray"
    assert manifest["vm"] == {"provider": "qemu", "image_path": str(small_image.resolve()),
                              "image_sha256": digest, "revert_policy": "snapshot", "revert_command": None,
                              "accel": "tcg", "firmware": "bios", "uefi_vars": None, "tpm": False,
                              "disk_bus": "virtio"}
    assert "qemu VMs reverted (snapshot) before every task" in " ".join(output.split())


def test_sigkill_of_eval_ends_its_actor_and_the_actors_qemu(
        ray_cluster: RayCluster, small_image: Path, tmp_path: Path) -> None:  # noqa: F811
    argv, results = _eval(ray_cluster, small_image, tmp_path, "c-slow-clean-home")
    with open(tmp_path / "eval.out", "wb") as out:
        process = subprocess.Popen(argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait(lambda: "vm: pristine" in _log(results, "c-slow-clean-home"), 480, process)
        actor, qemu = _actor_and_qemu(results, "c-slow-clean-home")
        os.kill(process.pid, signal.SIGKILL)
        process.wait(10)
        # Ray ends the actors of a dead driver (its owner); the kernel then ends the actor's QEMU
        assert _gone([actor, qemu], 60), "an actor or its QEMU outlived the SIGKILLed eval"
        _remove_overlay(actor)
    finally:
        process.kill()
