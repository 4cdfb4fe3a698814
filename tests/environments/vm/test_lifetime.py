"""`kimi-agent vm boot/list/stop` for real, two VMs at once, and no QEMU left after its owner is SIGKILLed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from agent.cli.vm import state_dir
from environments.remote.client import VMClient
from environments.vm.lifetime import OWNER_FILE, mark_owned, sweep_orphans
from environments.vm.qemu import QemuProvider
from tests.environments.vm.conftest import VNC_DISPLAYS
from tests.processes import alive


def _cli(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "agent", "vm", *args], capture_output=True, text=True,
                          timeout=60, check=False, **kwargs)  # type: ignore[call-overload]


def test_a_second_vm_booted_by_the_cli_dies_with_its_sigkilled_owner(vm: QemuProvider, small_image: Path,
                                                                     tmp_path: Path) -> None:
    name = f"kimi-test-{os.getpid()}"
    log = open(tmp_path / "boot.log", "wb")  # noqa: SIM115
    owner = subprocess.Popen([sys.executable, "-m", "agent", "vm", "boot", str(small_image), "--name", name,
                              "--accel", "tcg", "--tpm", "--vnc-display", str(VNC_DISPLAYS.start)],
                             stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 240
        record = None
        while record is None and time.monotonic() < deadline and owner.poll() is None:
            listed = _cli("list")
            if name in listed.stdout:
                record = json.loads((state_dir() / f"{name}.json").read_text())
            time.sleep(1)
        assert record is not None, (tmp_path / "boot.log").read_text()
        qemu_pid = int(record["qemu"])
        swtpm = subprocess.run(["pgrep", "-P", str(owner.pid), "swtpm"], capture_output=True,
                               text=True).stdout.split()
        assert swtpm, "the TPM emulator runs beside QEMU"
        # two VMs at once: the module's VM and this one answer on their own ports
        assert vm.handle is not None and vm.handle.server_url != record["url"]
        token = next(line.split()[1] for line in (tmp_path / "boot.log").read_text().splitlines()
                     if line.startswith("token "))
        for url, token in ((vm.handle.server_url, vm.handle.token), (record["url"], token)):
            client = VMClient(url, token, retries=0)
            try:
                assert client.platform() == "Linux"
            finally:
                client.close()
        os.kill(owner.pid, signal.SIGKILL)
        owner.wait()
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in (qemu_pid, *map(int, swtpm))) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not alive(qemu_pid), "QEMU outlived the process that owned it"
        assert not any(alive(int(pid)) for pid in swtpm), "swtpm outlived the process that owned it"
        assert name not in _cli("list").stdout  # the dead VM's record is dropped
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait()
        log.close()


def test_folders_left_by_a_killed_owner_are_swept_and_no_others(tmp_path: Path) -> None:
    """A SIGKILLed worker never deletes its VM folder; the next VM started beside it does."""
    owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        left = tmp_path / "kimi-eval-1-abc"
        left.mkdir()
        (left / "overlay.qcow2").write_bytes(b"x" * 1024)
        stat = Path(f"/proc/{owner.pid}/stat").read_text().rsplit(")", 1)[1].split()
        (left / OWNER_FILE).write_text(f"{owner.pid} {stat[19]}\n")
        mine = tmp_path / "kimi-eval-2-def"
        mine.mkdir()
        mark_owned(mine)
        unmarked = tmp_path / "someone-elses"
        unmarked.mkdir()
        assert sweep_orphans(tmp_path) == []  # its owner still runs
    finally:
        owner.kill()
        owner.wait()
    assert sweep_orphans(tmp_path) == [left]
    assert not left.exists() and mine.is_dir() and unmarked.is_dir()
    (mine / OWNER_FILE).write_text(f"{os.getpid()} 1\n")  # the pid reused by another process
    assert sweep_orphans(tmp_path) == [mine]
