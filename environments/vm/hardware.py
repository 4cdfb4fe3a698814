"""The virtual hardware of a qemu VM beyond memory and cores: firmware, TPM and disk controller — what a guest
OS needs in order to boot (Windows 11, as in WindowsAgentArena's image: UEFI and a TPM 2.0)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from environments.vm.firmware import FIRMWARES, Firmware

DiskBus = Literal["virtio", "scsi", "sata"]
"""virtio: virtio-blk; scsi: a disk on virtio-scsi; sata: AHCI, which every OS drives without extra
drivers. A Windows image boots only from a controller whose driver it starts at boot: the one it was
installed on, or sata."""
DISK_BUSES: tuple[DiskBus, ...] = get_args(DiskBus)
DISK_DEVICES: dict[DiskBus, tuple[str, ...]] = {
    "virtio": ("-device", "virtio-blk-pci,drive=disk0"),
    "scsi": ("-device", "virtio-scsi-pci,id=scsi0", "-device", "scsi-hd,drive=disk0,bus=scsi0.0"),
    "sata": ("-device", "ide-hd,drive=disk0,bus=ide.0"),
}
"""QEMU's devices for the disk node `disk0` on each bus."""


class HardwareError(ValueError):
    """A hardware choice that cannot work; `field` names the setting to fix (a CLI maps it to its flag)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Hardware:
    """Firmware, TPM and disk controller of one VM (the same for every VM of a run)."""

    firmware: Firmware = "bios"
    uefi_vars: Path | None = None
    """UEFI only: the variable store each boot starts from (copied, never written), e.g. the one kept beside
    a Windows image with its boot entries; None: OVMF's empty store (it boots the disk's fallback loader)."""
    tpm: bool = False
    """A software TPM 2.0 (swtpm, fresh at every boot), which Windows 11 requires."""
    disk_bus: DiskBus = "virtio"

    @classmethod
    def choose(cls, firmware: str = "bios", tpm: bool = False, disk_bus: str = "virtio",
               uefi_vars: Path | None = None) -> Hardware:
        """The hardware a user asked for (strings from a command line), checked; `HardwareError` if not."""
        if firmware not in FIRMWARES:
            raise HardwareError("firmware", f"use {' or '.join(FIRMWARES)}")
        if disk_bus not in DISK_BUSES:
            raise HardwareError("disk_bus", f"use {' or '.join(DISK_BUSES)}")
        if uefi_vars is not None and firmware == "bios":
            raise HardwareError("uefi_vars", "is for UEFI firmware: add --firmware uefi or uefi-secure")
        if uefi_vars is not None and not uefi_vars.is_file():
            raise HardwareError("uefi_vars", f"no UEFI variable store at {uefi_vars}")
        return cls(firmware, uefi_vars.resolve() if uefi_vars else None, tpm, disk_bus)  # type: ignore[arg-type]

    def facts(self) -> dict[str, object]:
        """What a manifest or a VM record keeps of it (JSON-ready)."""
        return {"firmware": self.firmware, "uefi_vars": str(self.uefi_vars) if self.uefi_vars else None,
                "tpm": self.tpm, "disk_bus": self.disk_bus}
