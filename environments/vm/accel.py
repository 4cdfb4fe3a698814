"""Choosing QEMU's accelerator: KVM when it really runs a guest, else TCG (software emulation), said aloud.

`/dev/kvm` opening is not enough: on hosts with nested virtualisation a KVM guest can hang in its firmware
(measured on this project's CI machines: SeaBIOS stops at its first option ROM). The probe boots QEMU's own
SeaBIOS with no disks (same machine and CPU model as the VMs) and waits, bounded, for it to report "No
bootable device" on the debug console. Measured here: sometimes the firmware hangs, sometimes it finishes
and QEMU then aborts on an MSR of `-cpu max`; both end in the TCG fallback.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from environments.vm.lifetime import spawn_owned

Accel = Literal["kvm", "tcg", "auto"]
PROBE_TIMEOUT = 10.0
"""SeaBIOS reaches "No bootable device" in about 1 s under KVM and 2-3 s under TCG here."""


@dataclass(frozen=True)
class AccelChoice:
    accel: Literal["kvm", "tcg"]
    reason: str


def kvm_works(qemu: str = "qemu-system-x86_64", timeout: float = PROBE_TIMEOUT) -> tuple[bool, str]:
    """Whether a KVM guest runs its firmware to the end within `timeout`, and why not."""
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return False, "/dev/kvm is missing or not accessible"
    with tempfile.TemporaryDirectory(prefix="kimi-kvm-probe-") as scratch:
        log, qemu_log = Path(scratch) / "bios.log", Path(scratch) / "qemu.log"
        # the machine and CPU model the VMs use: with KVM, `-cpu max` aborts on an MSR on some hosts
        process = spawn_owned([qemu, "-machine", "q35,accel=kvm", "-cpu", "max", "-nodefaults",
                               "-display", "none", "-m", "64", "-no-reboot",
                               "-chardev", f"file,id=dbg,path={log}",
                               "-device", "isa-debugcon,iobase=0x402,chardev=dbg"], log=qemu_log)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if log.is_file() and b"No bootable device" in log.read_bytes():
                    return True, "a KVM guest ran its firmware"
                if process.poll() is not None:
                    last = (qemu_log.read_text(errors="replace").strip().splitlines() or ["no output"])[0]
                    return False, f"QEMU with KVM exited with status {process.returncode} ({last})"
                time.sleep(0.1)
            return False, f"a KVM guest did not get through its firmware in {timeout:.0f} s (nested?)"
        finally:
            process.kill()
            process.wait()


def choose_accel(wanted: Accel, qemu: str = "qemu-system-x86_64") -> AccelChoice:
    """`wanted`, `auto` resolved by the probe; a `kvm` that does not work is an error, not a fallback."""
    if wanted == "tcg":
        return AccelChoice("tcg", "asked for TCG")
    works, why = kvm_works(qemu)
    if works:
        return AccelChoice("kvm", why)
    if wanted == "kvm":
        raise RuntimeError(f"--accel kvm: {why}; use --accel tcg or auto")
    return AccelChoice("tcg", f"KVM unusable ({why}); falling back to TCG software emulation, 5-10x slower")
