"""`kimi-agent vm …`: build our Debian guest image; boot, list, watch and stop QEMU VMs for people to inspect.

The providers and the image builder are imported inside the commands: `kimi-agent --help` stays fast.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape

app = typer.Typer(help=("Build, boot, list, watch and stop QEMU VMs (our Debian guest image, OSWorld's or "
                        "WAA's)."), no_args_is_help=True)
IMAGE_HELP = "The qcow2 image to write (IMAGE.vmlinuz, IMAGE.initrd, IMAGE.json beside it)."
VARIANT_HELP = "small: X session, terminal, editor; full: + Chromium, LibreOffice, VLC."
FIRMWARE_HELP = ("bios, uefi (Debian's OVMF), or uefi-secure (Secure Boot on with Microsoft's keys enrolled, "
                 "as Windows 11 expects).")
UEFI_VARS_HELP = ("UEFI variable store each boot starts from (a copy; never written), e.g. the one kept "
                  "beside a Windows image. Default: OVMF's empty one.")
console = Console()


def _fail(message: str, code: int = 2) -> typer.Exit:
    console.print(f"[red]{escape(message)}[/red]", highlight=False)
    return typer.Exit(code)


def state_dir() -> Path:
    """Where `vm boot` records its running VMs for `list`, `watch` and `stop` (per user; gone at reboot)."""
    path = Path(tempfile.gettempdir()) / f"kimi-agent-vms-{os.getuid()}"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def _records() -> dict[str, dict[str, object]]:
    """Running VMs by name; records of VMs whose `vm boot` process is gone are removed."""
    found = {}
    for path in sorted(state_dir().glob("*.json")):
        record = json.loads(path.read_text())
        try:
            os.kill(int(record["owner"]), 0)
        except (ProcessLookupError, ValueError, KeyError):
            path.unlink(missing_ok=True)
            continue
        found[path.stem] = record
    return found


@app.command(epilog="Example: kimi-agent vm build .cache/vm/small.qcow2 --variant small")
def build(
    out: Annotated[Path, typer.Argument(help=IMAGE_HELP)],
    variant: Annotated[str, typer.Option(help=VARIANT_HELP)] = "full",
    cache: Annotated[Optional[Path], typer.Option(help="Debian tarball cache (default: beside OUT).")] = None,
) -> None:
    """Build our Debian guest image (VM server started at boot); nothing to do if its recipe is unchanged."""
    from environments.vm.image import VARIANTS, ImageBuildError, build_image

    if variant not in VARIANTS:
        raise typer.BadParameter(f"use {' or '.join(VARIANTS)}", param_hint="--variant")
    started = time.monotonic()
    try:
        build_image(out, variant, cache, say=lambda text: console.print(escape(text), highlight=False))  # type: ignore[arg-type]
    except ImageBuildError as err:
        raise _fail(str(err)) from None
    console.print(f"done in {time.monotonic() - started:.0f} s", highlight=False)


@app.command(epilog="Example: kimi-agent vm boot .cache/vm/small.qcow2 --name inspect")
def boot(
    image: Annotated[Path, typer.Argument(help="Base qcow2 image (never written: the VM uses an overlay).")],
    name: Annotated[str, typer.Option(help="Name for list/watch/stop.")] = "vm",
    memory: Annotated[int, typer.Option(help="Guest memory in MiB.")] = 2048,
    cores: Annotated[int, typer.Option(help="Guest CPU cores.")] = 2,
    disk: Annotated[Optional[str], typer.Option(help="Disk size, e.g. 32G (default: the image's).")] = None,
    firmware: Annotated[str, typer.Option(help=FIRMWARE_HELP)] = "bios",
    uefi_vars: Annotated[Optional[Path], typer.Option(help=UEFI_VARS_HELP, show_default=False)] = None,
    tpm: Annotated[bool, typer.Option(help="Attach a software TPM 2.0 (swtpm), for Windows 11.")] = False,
    accel: Annotated[str, typer.Option(help="kvm, tcg, or auto (probe KVM, fall back to TCG).")] = "auto",
    restrict: Annotated[bool, typer.Option(help="Cut the guest off the network (not the forwards).")] = False,
    disk_bus: Annotated[str, typer.Option(help="virtio, scsi (virtio-scsi), or sata for guests without "
                                               "virtio drivers.")] = "virtio",
    snapshot: Annotated[bool, typer.Option(help="Take the init_state snapshot once it serves.")] = False,
    vnc_display: Annotated[int, typer.Option(min=0, max=99, help="First VNC display tried (5900+N).")] = 10,
) -> None:
    """Boot IMAGE under QEMU, print where its server, ports and VNC are; run until Ctrl+C or `vm stop`."""
    from environments.vm.hardware import Hardware, HardwareError
    from environments.vm.provider import VMProviderError
    from environments.vm.qemu import QemuOptions, QemuProvider

    if name in _records():
        raise _fail(f"a VM named {name} is running; pick another --name or `kimi-agent vm stop {name}`")
    if accel not in ("kvm", "tcg", "auto"):
        raise typer.BadParameter("use kvm or tcg or auto", param_hint="--accel")
    try:
        hardware = Hardware.choose(firmware, tpm, disk_bus, uefi_vars)
    except HardwareError as err:
        raise typer.BadParameter(str(err), param_hint=f"--{err.field.replace('_', '-')}") from None
    options = QemuOptions(image=image, memory_mib=memory, cores=cores, disk=disk, hardware=hardware,
                          accel=accel, restrict=restrict,  # type: ignore[arg-type]
                          revert="snapshot" if snapshot else "none", name=name,
                          vnc_displays=range(vnc_display, 100))
    record = state_dir() / f"{name}.json"
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    provider = None
    try:
        provider = QemuProvider(options, say=lambda text: console.print(escape(text), highlight=False))
        console.print(f"booting {image} ...", highlight=False)
        handle = provider.start()
        record.write_text(json.dumps({"owner": os.getpid(), "image": str(image), "url": handle.server_url,
                                      "vnc": handle.vnc, "serial": str(handle.serial_log),
                                      "ports": handle.ports, "qemu": handle.pid, **hardware.facts()}))
        console.print(f"[green]{escape(handle.describe())}[/green]", highlight=False)
        if handle.token:
            console.print(f"token {handle.token}  (send as 'Authorization: Bearer …')", highlight=False)
        console.print(f"booted in {provider.timings['boot']:.1f} s; Ctrl+C (or `kimi-agent vm stop {name}`) "
                      "stops it", highlight=False)
        while provider.alive():
            time.sleep(1)
        raise _fail(f"{name}: QEMU exited", 1)
    except VMProviderError as err:
        raise _fail(str(err), 1) from None
    except KeyboardInterrupt:
        console.print(f"stopping {name}", highlight=False)
    finally:
        record.unlink(missing_ok=True)
        if provider is not None:
            provider.stop()


@app.command(name="list", epilog="Example: kimi-agent vm list")
def list_vms() -> None:
    """List the VMs `vm boot` is running for this user: name, server URL, VNC address, serial log."""
    records = _records()
    if not records:
        console.print("no VMs running", highlight=False)
    for name, record in records.items():
        console.print(f"{name}  {record['url']}  VNC {record['vnc']}  serial {record['serial']}",
                      highlight=False)


@app.command(epilog="Example: kimi-agent vm stop inspect")
def stop(name: Annotated[str, typer.Argument(help="The VM's --name.")]) -> None:
    """Stop a VM started by `vm boot` (its QEMU quits and its overlay is deleted)."""
    record = _records().get(name)
    if record is None:
        raise _fail(f"no running VM named {name} (see `kimi-agent vm list`)")
    os.kill(int(record["owner"]), signal.SIGTERM)  # type: ignore[call-overload]
    deadline = time.monotonic() + 15
    while name in _records() and time.monotonic() < deadline:
        time.sleep(0.2)
    console.print(f"stopped {name}" if name not in _records() else f"{name} is still stopping",
                  highlight=False)


@app.command(epilog="Example: kimi-agent vm watch inspect")
def watch(
    name: Annotated[str, typer.Argument(help="The VM's --name.")],
    viewer: Annotated[str, typer.Option(help="VNC viewer to start if installed.")] = "vncviewer",
) -> None:
    """Open a VNC viewer on a running VM's screen (loopback only), or print how to reach it."""
    record = _records().get(name)
    if record is None:
        raise _fail(f"no running VM named {name} (see `kimi-agent vm list`)")
    address = str(record["vnc"])
    if address == "None":
        raise _fail(f"{name} was booted without VNC")
    console.print(f"{name}: VNC at {address}; serial console log {record['serial']}", highlight=False)
    if shutil.which(viewer) is None:
        host, port = address.rsplit(":", 1)
        console.print(f"no {viewer} here; from another machine: ssh -L {port}:{host}:{port} THIS-HOST, then "
                      f"open a VNC viewer on localhost:{port}", highlight=False)
        return
    subprocess.run([viewer, address], check=False)
