"""UEFI firmware (OVMF) and a software TPM 2.0 (swtpm) for QEMU guests that need them, e.g. Windows 11.

Each VM gets a fresh private copy of a UEFI variable store, in qcow2 so that `savevm` can snapshot it (a raw
pflash blocks live snapshots), and a swtpm of its own whose state lives in the VM's folder. Both are made
anew at every boot, so a VM reverted by a reboot is as pristine as one reverted by `loadvm` (which restores
the store from the snapshot and the TPM from the migration stream). swtpm is started with `spawn_owned`
(dies with its owner) and `--terminate` (exits when QEMU closes its socket), so it never outlives its VM.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from environments.vm.lifetime import spawn_owned

Firmware = Literal["bios", "uefi", "uefi-secure"]
"""bios: SeaBIOS (QEMU's default); uefi: OVMF; uefi-secure: OVMF with Secure Boot on and Microsoft's keys
enrolled, as Windows 11 installs expect (it needs SMM, so the machine gets `smm=on`)."""
FIRMWARES: tuple[Firmware, ...] = get_args(Firmware)
OVMF_DIR = Path("/usr/share/OVMF")
"""Where Debian's `ovmf` package puts its 4 MiB builds."""


class FirmwareError(RuntimeError):
    """The firmware or the TPM cannot be set up; the message says what to install or pass."""


@dataclass(frozen=True)
class Ovmf:
    """One OVMF build: its code (read-only), the variable store each VM copies, whether Secure Boot is on."""

    code: Path
    variables: Path
    secure: bool


OVMF: dict[Firmware, Ovmf] = {
    "uefi": Ovmf(OVMF_DIR / "OVMF_CODE_4M.fd", OVMF_DIR / "OVMF_VARS_4M.fd", secure=False),
    "uefi-secure": Ovmf(OVMF_DIR / "OVMF_CODE_4M.secboot.fd", OVMF_DIR / "OVMF_VARS_4M.ms.fd", secure=True),
}

VARS_FILE = "uefi-vars.qcow2"


def ovmf(firmware: Firmware) -> Ovmf:
    """The OVMF build of a UEFI `firmware`, its files checked."""
    build = OVMF[firmware]
    for path in (build.code, build.variables):
        if not path.is_file():
            raise FirmwareError(f"--firmware {firmware} needs {path}: apt-get install ovmf")
    return build


def machine_flags(firmware: Firmware) -> str:
    """What `-machine q35,…` needs for this firmware (Secure Boot's variables are guarded by SMM)."""
    return ",smm=on" if firmware != "bios" and OVMF[firmware].secure else ""


def uefi_args(firmware: Firmware, folder: Path) -> list[str]:
    """QEMU's arguments for OVMF's code and the VM's variable store in `folder` (see `fresh_variables`)."""
    if firmware == "bios":
        return []
    build = OVMF[firmware]
    args = ["-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={build.code}",
            "-drive", f"if=pflash,format=qcow2,unit=1,file={folder / VARS_FILE}"]
    if build.secure:
        args += ["-global", "driver=cfi.pflash01,property=secure,value=on"]
    return args


def fresh_variables(firmware: Firmware, folder: Path, template: Path | None = None) -> Path:
    """A new copy of the variable store in qcow2 in `folder`: OVMF's empty one, or `template` (an image's own
    store, e.g. the one WAA keeps beside its disk, which holds Windows' boot entries)."""
    build = ovmf(firmware)  # its code must be there too, whichever store the VM starts from
    source = template if template is not None else build.variables
    if not source.is_file():
        raise FirmwareError(f"no UEFI variable store at {source}")
    target = folder / VARS_FILE
    target.unlink(missing_ok=True)
    done = subprocess.run(["qemu-img", "convert", "-O", "qcow2", str(source), str(target)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise FirmwareError(f"could not copy the UEFI variable store {source}: {done.stderr.strip()}")
    return target


TPM_SOCKET = "swtpm.sock"


def tpm_args(folder: Path) -> list[str]:
    """QEMU's arguments for a TPM 2.0 on the TIS interface, served by the swtpm listening in `folder`."""
    return ["-chardev", f"socket,id=chrtpm,path={folder / TPM_SOCKET}",
            "-tpmdev", "emulator,id=tpm0,chardev=chrtpm", "-device", "tpm-tis,tpmdev=tpm0"]


class SoftwareTPM:
    """One VM's swtpm: fresh state in `folder/tpm` at every start, a control socket QEMU connects to."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        return self.folder / "swtpm.log"

    def start(self, timeout: float = 10.0) -> None:
        """Start swtpm and wait until its socket exists (QEMU fails at once if it connects earlier)."""
        if shutil.which("swtpm") is None:
            raise FirmwareError("--tpm needs swtpm: apt-get install swtpm swtpm-tools")
        self.stop()
        state, sock = self.folder / "tpm", self.folder / TPM_SOCKET
        shutil.rmtree(state, ignore_errors=True)
        state.mkdir()
        sock.unlink(missing_ok=True)
        self.process = spawn_owned(["swtpm", "socket", "--tpm2", "--tpmstate", f"dir={state}",
                                    "--ctrl", f"type=unixio,path={sock}", "--terminate"], log=self.log)
        deadline = time.monotonic() + timeout
        while not sock.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise FirmwareError(f"swtpm did not start: {self._tail()}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                self.process.kill()
            self.process.wait()
            self.process = None

    def _tail(self, size: int = 800) -> str:
        try:
            return self.log.read_bytes()[-size:].decode(errors="replace").strip() or "(no output)"
        except OSError:
            return "(no log)"
