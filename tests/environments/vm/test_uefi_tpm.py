"""UEFI firmware and a software TPM under the qemu provider, as WindowsAgentArena's Windows 11 image needs.

No Windows image is available here, so the real boots use a blank disk: OVMF runs, finds nothing to boot
and says so on the serial console, which proves the firmware ran; QMP's `query-tpm` proves the TPM is
attached; `savevm`/`loadvm` prove that a UEFI + TPM guest still reverts by live snapshot.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from environments.vm import qemu
from environments.vm.accel import AccelChoice
from environments.vm.firmware import OVMF, VARS_FILE, FirmwareError, fresh_variables
from environments.vm.hardware import Hardware, HardwareError
from environments.vm.qemu import SNAPSHOT, QemuOptions, QemuProvider, free_port
from tests.processes import alive

HAVE_FIRMWARE = all(path.is_file() for build in OVMF.values() for path in (build.code, build.variables))
needs_ovmf_and_swtpm = pytest.mark.skipif(
    not HAVE_FIRMWARE or shutil.which("swtpm") is None,
    reason="UEFI + TPM need Debian's ovmf and swtpm: apt-get install ovmf swtpm swtpm-tools")
FIRMWARE_SAYS = b"BdsDxe: failed to load Boot0001"
"""OVMF's boot manager on the serial console once it has tried the (blank) disk: the firmware ran."""


@pytest.fixture
def blank_image(tmp_path: Path) -> Path:
    """A 16 MiB qcow2 disk with nothing on it (no IMAGE.json beside it: a foreign image, as WAA's)."""
    image = tmp_path / "blank.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(image), "16M"], check=True)
    return image


@pytest.fixture
def loopback_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    """The guest's ports forwarded to free ports of 127.0.0.1 (port 0), not the fixed ones on an address."""
    monkeypatch.setattr(qemu, "forward_address",
                        lambda ports: ("127.0.0.1", {port: free_port() for port in ports}))


def _options(image: Path, workdir: Path, **hardware: object) -> QemuOptions:
    return QemuOptions(image=image, accel="tcg", memory_mib=256, cores=1, vnc_displays=range(0),
                       workdir=workdir, name="w4-uefi-tpm", restrict=True,
                       hardware=Hardware(**hardware))  # type: ignore[arg-type]


def _argument(argv: list[str], flag: str) -> list[str]:
    return [argv[i + 1] for i, arg in enumerate(argv[:-1]) if arg == flag]


def _swtpm_children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid), "swtpm"], capture_output=True, text=True, check=False)
    return [int(child) for child in found.stdout.split()]


def test_the_command_line_for_secure_uefi_and_a_tpm(blank_image: Path, tmp_path: Path) -> None:
    options = _options(blank_image, tmp_path, firmware="uefi-secure", tpm=True, disk_bus="sata")
    provider = QemuProvider(options, say=lambda _: None)
    provider._dir = tmp_path  # what `launch` makes; `command` only names files in it
    argv = provider.command(AccelChoice("tcg", "asked"), tmp_path / "overlay.qcow2", tmp_path / "serial.log")
    assert _argument(argv, "-machine") == ["q35,accel=tcg,smm=on"]  # Secure Boot's variables need SMM
    secure = OVMF["uefi-secure"]
    assert _argument(argv, "-drive") == [
        f"if=pflash,format=raw,unit=0,readonly=on,file={secure.code}",  # shared, never written
        f"if=pflash,format=qcow2,unit=1,file={tmp_path / VARS_FILE}",  # the VM's own, qcow2 for savevm
    ]
    assert "driver=cfi.pflash01,property=secure,value=on" in _argument(argv, "-global")
    assert {"ICH9-LPC.disable_s3=1", "ICH9-LPC.disable_s4=1"} <= set(_argument(argv, "-global"))  # no sleep
    assert _argument(argv, "-chardev") == [f"socket,id=chrtpm,path={tmp_path / 'swtpm.sock'}"]
    assert _argument(argv, "-tpmdev") == ["emulator,id=tpm0,chardev=chrtpm"]
    assert "tpm-tis,tpmdev=tpm0" in _argument(argv, "-device")
    assert "ide-hd,drive=disk0,bus=ide.0" in _argument(argv, "-device")  # sata: AHCI, no virtio driver needed

    plain = QemuProvider(_options(blank_image, tmp_path, firmware="uefi"), say=lambda _: None)
    plain._dir = tmp_path
    argv = plain.command(AccelChoice("tcg", "asked"), tmp_path / "overlay.qcow2", tmp_path / "serial.log")
    assert _argument(argv, "-machine") == ["q35,accel=tcg"]
    assert not [value for value in _argument(argv, "-global") if "pflash" in value]
    assert _argument(argv, "-drive")[0].endswith(f"file={OVMF['uefi'].code}")
    assert not _argument(argv, "-tpmdev") and not _argument(argv, "-chardev")

    bios = QemuProvider(_options(blank_image, tmp_path, disk_bus="scsi"), say=lambda _: None)
    bios._dir = tmp_path
    argv = bios.command(AccelChoice("tcg", "asked"), tmp_path / "overlay.qcow2", tmp_path / "serial.log")
    assert not _argument(argv, "-drive")  # SeaBIOS, QEMU's default: no pflash
    assert _argument(argv, "-device")[:2] == ["virtio-scsi-pci,id=scsi0", "scsi-hd,drive=disk0,bus=scsi0.0"]


@needs_ovmf_and_swtpm
def test_each_boot_starts_from_a_fresh_copy_of_the_chosen_variable_store(tmp_path: Path) -> None:
    template = tmp_path / "windows.vars"
    shutil.copy(OVMF["uefi-secure"].variables, template)
    copy = fresh_variables("uefi", tmp_path, template)
    copy.write_bytes(b"written by the last boot")
    assert fresh_variables("uefi", tmp_path, template) == copy
    same = subprocess.run(["qemu-img", "compare", "-q", str(template), str(copy)], check=False)
    assert same.returncode == 0, "the copy differs from the store it was made from"
    assert template.read_bytes() == OVMF["uefi-secure"].variables.read_bytes()  # never written
    with pytest.raises(FirmwareError, match="no UEFI variable store"):
        fresh_variables("uefi", tmp_path, tmp_path / "missing.vars")


def test_hardware_choices_are_checked_and_recorded(tmp_path: Path) -> None:
    store = tmp_path / "windows.vars"
    store.write_bytes(b"\0" * 16)
    chosen = Hardware.choose("uefi-secure", True, "sata", store)
    assert chosen.facts() == {"firmware": "uefi-secure", "uefi_vars": str(store.resolve()), "tpm": True,
                              "disk_bus": "sata"}
    assert Hardware().facts() == {"firmware": "bios", "uefi_vars": None, "tpm": False, "disk_bus": "virtio"}
    for args, field in ((("efi",), "firmware"), (("bios", False, "ide"), "disk_bus"),
                        (("bios", False, "virtio", store), "uefi_vars"),
                        (("uefi", False, "virtio", tmp_path / "missing.vars"), "uefi_vars")):
        with pytest.raises(HardwareError) as caught:
            Hardware.choose(*args)  # type: ignore[arg-type]
        assert caught.value.field == field


def test_vm_boot_refuses_a_variable_store_without_uefi_in_one_line(blank_image: Path) -> None:
    for args, message in ((["--uefi-vars", str(blank_image)], "is for UEFI firmware: add --firmware uefi"),
                          (["--firmware", "efi"], "use bios or uefi or uefi-secure")):
        argv = [sys.executable, "-m", "agent", "vm", "boot", str(blank_image), "--name", "w4-x", *args]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr, done.stderr


@needs_ovmf_and_swtpm
@pytest.mark.parametrize("firmware", ["uefi", "uefi-secure"])
def test_ovmf_runs_with_a_tpm_attached_and_the_vm_reverts_by_snapshot(
        firmware: str, blank_image: Path, tmp_path: Path, loopback_ports: None) -> None:
    provider = QemuProvider(_options(blank_image, tmp_path, firmware=firmware, tpm=True), say=lambda _: None)
    try:
        handle = provider.launch()
        assert provider._tpm is not None and provider._tpm.process is not None
        qemu_pid, swtpm_pid = handle.pid, provider._tpm.process.pid
        assert qemu_pid is not None and alive(swtpm_pid)
        tpms = provider.qmp("query-tpm")
        assert tpms == [{"id": "tpm0", "model": "tpm-tis",
                         "options": {"type": "emulator", "data": {"chardev": "chrtpm"}}}], tpms
        assert handle.serial_log is not None
        deadline = time.monotonic() + 60
        while FIRMWARE_SAYS not in handle.serial_log.read_bytes():
            assert time.monotonic() < deadline, handle.serial_log.read_bytes()[-500:]
            assert provider.alive(), (tmp_path / "qemu.log").read_text()
            time.sleep(0.2)
        screen = tmp_path / "screen.png"
        provider.qmp("screendump", {"filename": str(screen), "format": "png"})
        with Image.open(screen) as image:
            assert len(image.getcolors(1 << 16) or ()) > 1, "the firmware drew nothing on the screen"
        # the TPM's state and the VM's variable store live in the VM's folder, not in shared files
        folder = provider._dir
        assert folder is not None
        assert (folder / "tpm" / "tpm2-00.permall").is_file() and (folder / VARS_FILE).is_file()
        # a UEFI + TPM guest still reverts by live snapshot (qcow2 store; swtpm's state in the stream)
        assert provider._hmp(f"savevm {SNAPSHOT}") == ""
        assert provider._hmp(f"loadvm {SNAPSHOT}") == ""
        status = provider.qmp("query-status")
        assert isinstance(status, dict) and status["status"] == "running", status
        assert alive(swtpm_pid), "swtpm survives a loadvm"
    finally:
        provider.stop()
    assert not alive(qemu_pid) and not alive(swtpm_pid)
    assert not folder.exists()


@needs_ovmf_and_swtpm
def test_qemu_and_swtpm_die_with_their_sigkilled_owner(blank_image: Path, tmp_path: Path) -> None:
    """A test (or an eval worker) killed mid-boot never runs `stop`: the kernel kills both children."""
    program = (
        "import sys; from pathlib import Path\n"
        "from environments.vm import qemu\n"
        "from environments.vm.hardware import Hardware\n"
        "from environments.vm.qemu import QemuOptions, QemuProvider\n"
        "qemu.forward_address = lambda ports: ('127.0.0.1', {port: qemu.free_port() for port in ports})\n"
        f"options = QemuOptions(image=Path({str(blank_image)!r}), accel='tcg', memory_mib=256, cores=1,\n"
        f"    vnc_displays=range(0), workdir=Path({str(tmp_path)!r}), name='w4-owned', restrict=True,\n"
        "    hardware=Hardware(firmware='uefi', tpm=True))\n"
        "provider = QemuProvider(options, say=lambda _: None)\n"
        "handle = provider.launch()\n"
        "print(handle.pid, provider._tpm.process.pid, flush=True)\n"
        "sys.stdin.read()\n"
    )
    owner = subprocess.Popen([sys.executable, "-c", program], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, cwd=Path(__file__).parents[3])
    try:
        assert owner.stdout is not None
        line = owner.stdout.readline()
        assert line, owner.stderr.read() if owner.stderr else ""
        qemu_pid, swtpm_pid = map(int, line.split())
        assert alive(qemu_pid) and alive(swtpm_pid)
        assert _swtpm_children(owner.pid) == [swtpm_pid]
        os.kill(owner.pid, signal.SIGKILL)
        owner.wait()
        deadline = time.monotonic() + 10
        while (alive(qemu_pid) or alive(swtpm_pid)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not alive(qemu_pid), "QEMU outlived the process that owned it"
        assert not alive(swtpm_pid), "swtpm outlived the process that owned it"
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait()
